import type { DeadLetterRecord, DeadLetterStore } from '@switchyard/core';
import { ErrorCode } from '@switchyard/core';
import { describe, expect, it } from 'vitest';

/** How {@link runDeadLetterStoreConformance} opens the store under test. */
export interface DeadLetterStoreFactory {
  /**
   * A store over an empty namespace of its own (a fresh table, stream, queue or topic), so that
   * suites running at once never see each other's records.
   */
  open(): Promise<DeadLetterStore>;
  /** A second store over the same namespace as `store`, as a new process would open it; omit when the store is not durable. */
  reopen?(store: DeadLetterStore): Promise<DeadLetterStore>;
}

/**
 * One contract suite for every {@link DeadLetterStore}: idempotent add, get with the original
 * bytes and headers, filters (service, handler, message name, code, text, time), paging, count,
 * delete, close, and durability across a reopen when the factory can reopen. Call it inside a
 * vitest file; it registers one `describe` block named after the store.
 */
export function runDeadLetterStoreConformance(name: string, factory: DeadLetterStoreFactory): void {
  describe(`DeadLetterStore conformance: ${name}`, () => {
    it('adds idempotently and gets a record back with its bytes, headers and reason', async () => {
      const store = await factory.open();
      try {
        const a = deadLetterRecord(1);
        await store.add(a);
        await store.add({ ...a, attempts: 99 });
        expect(await store.get(a.id)).toEqual(a);
        expect(await store.count()).toBe(1);
        expect(await store.get('no-such-record')).toBeUndefined();
      } finally {
        await store.close?.();
      }
    });

    it('lists oldest first with every filter, pages with offset and limit, counts', async () => {
      const store = await factory.open();
      try {
        const a = deadLetterRecord(1);
        const b = deadLetterRecord(2, {
          service: 'billing',
          messageName: 'invoice.due',
          reason: { code: 'SY_VALIDATION', message: 'Amount must be positive' },
        });
        const { handler: _dropped, ...withoutHandler } = deadLetterRecord(3);
        const c: DeadLetterRecord = withoutHandler;
        for (const record of [c, a, b]) await store.add(record);
        const ids = async (filter?: Parameters<DeadLetterStore['list']>[0]) =>
          (await store.list(filter)).map((record) => record.id);
        expect(await ids()).toEqual([a.id, b.id, c.id]);
        expect(await ids({ service: 'orders' })).toEqual([a.id, c.id]);
        expect(await ids({ handler: 'onPlaced' })).toEqual([a.id, b.id]);
        expect(await ids({ messageName: 'invoice.due' })).toEqual([b.id]);
        expect(await ids({ code: 'SY_VALIDATION' })).toEqual([b.id]);
        expect(await ids({ search: 'must BE' })).toEqual([b.id]);
        expect(await ids({ since: new Date(b.deadLetteredAt) })).toEqual([b.id, c.id]);
        expect(await ids({ until: new Date(b.deadLetteredAt) })).toEqual([a.id]);
        expect(await ids({ limit: 2 })).toEqual([a.id, b.id]);
        expect(await ids({ offset: 1, limit: 1 })).toEqual([b.id]);
        expect(await ids({ offset: 5 })).toEqual([]);
        expect(await store.count()).toBe(3);
        expect(await store.count({ service: 'orders', offset: 1, limit: 1 })).toBe(2);
        expect(await store.count({ code: 'nothing' })).toBe(0);
        expect((await store.get(c.id))?.handler).toBeUndefined();
      } finally {
        await store.close?.();
      }
    });

    it('deletes one record and touches no other', async () => {
      const store = await factory.open();
      try {
        const a = deadLetterRecord(1);
        const b = deadLetterRecord(2);
        await store.add(a);
        await store.add(b);
        expect(await store.delete(a.id)).toBe(true);
        expect(await store.delete(a.id)).toBe(false);
        expect(await store.get(a.id)).toBeUndefined();
        expect(await store.get(b.id)).toEqual(b);
        expect(await store.count()).toBe(1);
      } finally {
        await store.close?.();
      }
    });

    it('closes idempotently and rejects use after close with SY_CLOSED', async () => {
      const store = await factory.open();
      await store.close?.();
      await store.close?.();
      if (store.close) await expect(store.list()).rejects.toMatchObject({ code: ErrorCode.Closed });
    });

    it.skipIf(!factory.reopen)('keeps its records across a reopen (durable)', async () => {
      const store = await factory.open();
      const a = deadLetterRecord(1);
      const b = deadLetterRecord(2);
      await store.add(a);
      await store.add(b);
      await store.delete(a.id);
      const again = await factory.reopen!(store);
      await store.close?.();
      try {
        expect((await again.list()).map((record) => record.id)).toEqual([b.id]);
        expect(await again.get(b.id)).toEqual(b);
      } finally {
        await again.close?.();
      }
    });
  });
}

/**
 * A dead-letter record for store tests: message `n` of service `orders`, handler `onPlaced`,
 * dead-lettered `n` seconds after a fixed instant, with a binary body and a key.
 */
export function deadLetterRecord(n: number, over: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  const messageId = `0190a0b0-0000-7000-8000-${String(n).padStart(12, '0')}`;
  return {
    id: `dl-${n}-${Math.random().toString(36).slice(2, 10)}`,
    messageId,
    messageName: 'order.placed',
    service: 'orders',
    handler: 'onPlaced',
    channel: 'orders',
    reason: { code: 'SY_HANDLER_FAILED', message: `failed ${n}`, stack: `Error: failed ${n}\n    at handler` },
    attempts: 3,
    firstAttemptAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    deadLetteredAt: new Date(Date.UTC(2026, 0, 1, 0, 1, n)).toISOString(),
    message: {
      id: messageId,
      headers: { 'ce-id': messageId, 'ce-type': 'order.placed', 'ce-source': 'shop', 'x-custom': `v${n}` },
      body: new Uint8Array([123, 34, 110, 34, 58, 48 + (n % 10), 125, 0xff]),
      key: `k${n}`,
    },
    ...over,
  };
}
