import type { DeadLetterStore } from '@switchyard/core';
import { deadLetterRecord, runDeadLetterStoreConformance } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { unique } from './cluster.js';
import { kafkaFixture } from './helpers.js';

const kafka = await kafkaFixture();
const services = new WeakMap<DeadLetterStore, string>();

function storeOf(service: string, retention?: { maxAgeMs?: number; maxCount?: number }): DeadLetterStore {
  // A new transport per store, as a new process would open it; the store reads the topic from the start.
  const transport = kafka.transport(retention ? { deadLetterRetention: retention } : {});
  const store = transport.deadLetterStore(service);
  services.set(store, service);
  return store;
}

describe.runIf(kafka.reachable)('Kafka dead-letter store', () => {
  runDeadLetterStoreConformance('KafkaDeadLetterStore', {
    open: async () => storeOf(unique('svc')),
    reopen: async (store) => storeOf(services.get(store) as string),
  });

  it('a second store sees records and tombstones written by the first', async () => {
    const service = unique('shared');
    const a = storeOf(service);
    const b = storeOf(service);
    try {
      const records = [1, 2, 3].map((n) => deadLetterRecord(n));
      for (const record of records) await a.add(record);
      expect(await b.count()).toBe(3);
      expect(await a.delete(records[0]?.id as string)).toBe(true);
      expect((await b.list()).map((r) => r.id)).toEqual([records[1]?.id, records[2]?.id]);
    } finally {
      await Promise.all([a.close?.(), b.close?.()]);
    }
  });

  it('retention tombstones expired records and the oldest beyond maxCount on add', async () => {
    const store = storeOf(unique('retention'), { maxAgeMs: 60_000, maxCount: 2 });
    try {
      const now = Date.now();
      const old = deadLetterRecord(1, { deadLetteredAt: new Date(now - 120_000).toISOString() });
      const young = [2, 3, 4].map((n) =>
        deadLetterRecord(n, { deadLetteredAt: new Date(now - 10_000 + n).toISOString() }),
      );
      await store.add(old);
      for (const record of young) await store.add(record);
      expect((await store.list()).map((r) => r.id)).toEqual([young[1]?.id, young[2]?.id]);
    } finally {
      await store.close?.();
    }
  });
});
