import type { DeadLetterStore } from '@switchyard/core';
import { deadLetterRecord, runDeadLetterStoreConformance } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport, type SqsTransportConfig } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

const emulator = await startEmulator();
const transports: SqsTransport[] = [];
const services = new WeakMap<DeadLetterStore, string>();

function storeOf(service: string, options: Partial<SqsTransportConfig> = {}): DeadLetterStore {
  // A new transport (a new client) per store, as a new process would open it.
  const transport = new SqsTransport({ ...emulatorConfig(emulator), ...options });
  transports.push(transport);
  const store = transport.deadLetterStore(service);
  services.set(store, service);
  return store;
}

afterAll(async () => {
  await Promise.all(transports.map((transport) => transport.close()));
  await emulator.stop();
});

describe('SQS dead-letter store', () => {
  runDeadLetterStoreConformance('SqsDeadLetterStore', {
    open: async () => storeOf(`svc-${suffix()}`),
    reopen: async (store) => storeOf(services.get(store) as string),
  });

  it('reads leave every record visible for the next reader, also from another client', async () => {
    const service = `visible-${suffix()}`;
    const a = storeOf(service);
    const b = storeOf(service);
    for (let n = 1; n <= 25; n++) await a.add(deadLetterRecord(n));
    expect(await a.count()).toBe(25);
    expect((await b.list()).length).toBe(25);
    expect(await b.count({ code: 'SY_HANDLER_FAILED' })).toBe(25);
  });

  it('retention.maxCount keeps the newest records', async () => {
    const store = storeOf(`retention-${suffix()}`, { deadLetterRetention: { maxCount: 2 } });
    const records = [1, 2, 3].map((n) => deadLetterRecord(n));
    for (const record of records) await store.add(record);
    expect((await store.list()).map((r) => r.id)).toEqual([records[1]?.id, records[2]?.id]);
    expect(await store.count()).toBe(2);
  });
});
