import type { DeadLetterStore } from '@switchyard/core';
import {
  brokerReachable,
  deadLetterRecord,
  RETENTION_UNDER_TEST,
  retentionOnAddScenario,
  runDeadLetterStoreConformance,
} from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { deleteStreams, NATS_URL, probeNats, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix('dlq');
const transports: NatsTransport[] = [];
const reachable = await brokerReachable(`NATS at ${NATS_URL}`, probeNats);
let services = 0;

/** A new transport (a new "process") on the shared server; closed after the suite. */
function transport(options: Partial<ConstructorParameters<typeof NatsTransport>[0]> = {}): NatsTransport {
  const made = new NatsTransport({ url: NATS_URL, prefix, ...options });
  transports.push(made);
  return made;
}

const stores = new WeakMap<DeadLetterStore, string>();

describe.runIf(reachable)('nats dead-letter store', () => {
  runDeadLetterStoreConformance('nats (stream per prefix, subject per record)', {
    // Each store gets a service of its own: an empty namespace within the shared dead-letter stream.
    async open() {
      const service = `svc-${++services}`;
      const store = transport().deadLetterStore(service);
      stores.set(store, service);
      return store;
    },
    // A second transport (connection) on the same stream, as another process would open it.
    async reopen(store) {
      const again = transport().deadLetterStore(stores.get(store) as string);
      return again;
    },
  });

  it('retention removes records older than maxAgeMs and the oldest beyond maxCount, nothing else, nor other services', async () => {
    const store = transport({ deadLetterRetention: RETENTION_UNDER_TEST }).deadLetterStore('retention');
    // Another service in the same dead-letter stream, stored without retention: never touched.
    const other = transport().deadLetterStore('retention-other');
    const others = [deadLetterRecord(11, { deadLetteredAt: new Date(Date.now() - 600_000).toISOString() })];
    for (const record of others) await other.add(record);
    await retentionOnAddScenario(store);
    expect((await other.list()).map((r) => r.id).sort()).toEqual(others.map((r) => r.id).sort());
  });

  it('an invalid retention throws at construction, naming the option', () => {
    expect(() => new NatsTransport({ deadLetterRetention: { maxCount: 0 } })).toThrow(/deadLetterRetention.*maxCount/);
  });

  it('closing the store leaves the transport usable', async () => {
    const owner = transport();
    const store = owner.deadLetterStore('closing');
    await store.close?.();
    await expect(owner.ping()).resolves.toBeUndefined();
  });
});

afterAll(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  if (reachable) await deleteStreams(prefix);
});
