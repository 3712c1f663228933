import type { DeadLetterStore } from '@switchyard/core';
import { brokerReachable, deadLetterRecord, runDeadLetterStoreConformance } from '@switchyard/testing';
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
    const now = Date.now();
    const at = (agoMs: number) => new Date(now - agoMs).toISOString();
    const retained = transport({ deadLetterRetention: { maxAgeMs: 60_000, maxCount: 3 } });
    const store = retained.deadLetterStore('retention');
    // Another service in the same dead-letter stream, stored without retention: never touched.
    const other = transport().deadLetterStore('retention-other');
    const others = [deadLetterRecord(11, { deadLetteredAt: at(600_000) }), deadLetterRecord(12)];
    for (const record of others) await other.add(record);
    const old = deadLetterRecord(1, { deadLetteredAt: at(120_000) });
    const young = [2, 3, 4, 5].map((i) => deadLetterRecord(i, { deadLetteredAt: at(10_000 - i * 1_000) }));
    await store.add(old);
    for (const record of young.slice(0, 3)) await store.add(record);
    // The old one expired on the way; three young ones fit the count.
    expect((await store.list()).map((r) => r.id)).toEqual(young.slice(0, 3).map((r) => r.id));
    await store.add(young[3] as (typeof young)[number]);
    expect((await store.list()).map((r) => r.id)).toEqual(young.slice(1).map((r) => r.id));
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
