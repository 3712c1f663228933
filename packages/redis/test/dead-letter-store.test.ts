import type { DeadLetterStore } from '@switchyard/core';
import {
  brokerReachable,
  deadLetterRecord,
  RETENTION_UNDER_TEST,
  retentionOnAddScenario,
  runDeadLetterStoreConformance,
} from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('dead-letters');
const transports: RedisStreamsTransport[] = [];
const services = new WeakMap<DeadLetterStore, string>();
let n = 0;

function storeOf(service: string, options: ConstructorParameters<typeof RedisStreamsTransport>[0] = {}) {
  // A new transport (a new connection) per store, as a new process would open it.
  const transport = new RedisStreamsTransport({ url: REDIS_URL, prefix, ...options });
  transports.push(transport);
  const store = transport.deadLetterStore(service);
  services.set(store, service);
  return store;
}

afterAll(async () => {
  await Promise.all(transports.map((transport) => transport.close()));
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

describe.runIf(reachable)('Redis dead-letter store', () => {
  runDeadLetterStoreConformance('RedisDeadLetterStore', {
    open: async () => storeOf(`svc-${++n}`),
    reopen: async (store) => storeOf(services.get(store) as string),
  });

  it('keeps each service in its own hash and index', async () => {
    const a = storeOf('keys-a');
    const b = storeOf('keys-b');
    const record = deadLetterRecord(1);
    await a.add(record);
    expect(await b.count()).toBe(0);
    expect(await admin.hexists(`${prefix}:dl:keys-a`, record.id)).toBe(1);
    expect(await admin.zscore(`${prefix}:dl:keys-a:at`, record.id)).toBe(String(Date.parse(record.deadLetteredAt)));
  });

  it('retention removes records older than maxAgeMs and the oldest beyond maxCount, nothing else', async () => {
    await retentionOnAddScenario(storeOf('retention', { deadLetterRetention: RETENTION_UNDER_TEST }));
  });
});
