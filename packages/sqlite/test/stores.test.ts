import type { DeadLetterRecord, OutboundMessage } from '@switchyard/core';
import { ErrorCode, withTimeout } from '@switchyard/core/transport';
import { deadLetterRecord, runDeadLetterStoreConformance } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteDeadLetterStore, SqliteInboxStore, SqliteOutboxStore, SqliteTransport } from '../src/index.js';
import { bodyN, msg, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function deadLetter(n: number, over: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  const message = msg(n, { key: `k${n}` });
  return {
    id: `dl-${n}-${Math.random().toString(36).slice(2)}`,
    messageId: message.id,
    messageName: 'order.placed',
    service: 'orders',
    handler: 'onPlaced',
    channel: 'orders',
    reason: { code: 'SY_HANDLER_FAILED', message: `failed ${n}`, stack: 'Error: x\n at y' },
    attempts: 3,
    firstAttemptAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    deadLetteredAt: new Date(Date.UTC(2026, 0, 1, 0, 1, n)).toISOString(),
    message,
    ...over,
  };
}

describe('SqliteDeadLetterStore', () => {
  it('adds idempotently, gets, lists with filters oldest first, deletes', async () => {
    const path = tmp.file();
    const store = new SqliteDeadLetterStore(path);
    const a = deadLetter(1);
    const b = deadLetter(2, { service: 'billing', handler: undefined, messageName: 'invoice.due' });
    const c = deadLetter(3);
    await store.add(c);
    await store.add(a);
    await store.add(b);
    await store.add({ ...a, attempts: 99 });
    const got = await store.get(a.id);
    expect(got).toEqual(a);
    expect(bodyN(got!.message.body)).toBe(1);
    expect((await store.get(b.id))?.handler).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual([a.id, b.id, c.id]);
    expect((await store.list({ service: 'orders' })).map((r) => r.id)).toEqual([a.id, c.id]);
    expect((await store.list({ handler: 'onPlaced', limit: 1 })).map((r) => r.id)).toEqual([a.id]);
    expect((await store.list({ messageName: 'invoice.due' })).map((r) => r.id)).toEqual([b.id]);
    const since = new Date(b.deadLetteredAt);
    expect((await store.list({ since })).map((r) => r.id)).toEqual([b.id, c.id]);
    expect((await store.list({ until: since })).map((r) => r.id)).toEqual([a.id]);
    expect(await store.delete(a.id)).toBe(true);
    expect(await store.delete(a.id)).toBe(false);
    expect(await store.get(a.id)).toBeUndefined();
    await store.close();
    await store.close();
    await expect(store.list()).rejects.toMatchObject({ code: ErrorCode.Closed });
    // Durable: a new store on the same file sees the records.
    const again = new SqliteDeadLetterStore(path);
    expect((await again.list()).map((r) => r.id)).toEqual([b.id, c.id]);
    await again.close();
  });
});

describe('SqliteInboxStore', () => {
  it('marks idempotently, answers isProcessed, prunes by age', async () => {
    const store = new SqliteInboxStore(tmp.file());
    expect(await store.isProcessed('h', 'm1')).toBe(false);
    await store.markProcessed('h', 'm1');
    await store.markProcessed('h', 'm1');
    expect(await store.isProcessed('h', 'm1')).toBe(true);
    expect(await store.isProcessed('other', 'm1')).toBe(false);
    expect(await store.prune(60_000)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.markProcessed('h', 'm2');
    expect(await store.prune(10)).toBe(1);
    expect(await store.isProcessed('h', 'm1')).toBe(false);
    expect(await store.isProcessed('h', 'm2')).toBe(true);
    await store.close();
  });

  it('prunes automatically when asked to', async () => {
    const db = new Database(tmp.file());
    const store = new SqliteInboxStore(db, { autoPrune: { retentionMs: 10, intervalMs: 20 } });
    await store.markProcessed('h', 'm1');
    await expect.poll(() => store.isProcessed('h', 'm1'), { timeout: 5_000 }).toBe(false);
    await store.close();
    // A borrowed Database stays open.
    expect(db.open).toBe(true);
    db.close();
  });

  it('rejects bad options', () => {
    expect(() => new SqliteInboxStore(tmp.file(), { autoPrune: { retentionMs: 0 } })).toThrow(/retentionMs/);
    expect(() => new SqliteInboxStore('')).toThrow(/path/);
  });
});

describe('SqliteOutboxStore', () => {
  const outbound = (n: number, routingKey?: string): OutboundMessage => ({
    destination: routingKey ? { kind: 'publish', routingKey } : { kind: 'send', service: 'billing' },
    message: msg(n, n % 2 === 0 ? { key: 'k', deliverAt: 1_900_000_000_000 } : {}),
  });

  it("commits with the application's transaction and rolls back with it", async () => {
    const db = new Database(tmp.file());
    db.exec('CREATE TABLE orders (id TEXT PRIMARY KEY)');
    const outbox = new SqliteOutboxStore(db);
    const placeOrder = db.transaction((id: string, fail: boolean) => {
      db.prepare('INSERT INTO orders (id) VALUES (?)').run(id);
      outbox.add([outbound(1, 'order.placed'), outbound(2)]);
      if (fail) throw new Error('business rule failed');
    });
    expect(() => placeOrder('o1', true)).toThrow(/business rule/);
    expect(await outbox.pending(10)).toEqual([]);
    placeOrder('o2', false);
    const pending = await outbox.pending(10);
    expect(pending.map((r) => r.outbound.destination)).toEqual([
      { kind: 'publish', routingKey: 'order.placed' },
      { kind: 'send', service: 'billing' },
    ]);
    expect(pending[1]!.outbound.message).toMatchObject({ key: 'k', deliverAt: 1_900_000_000_000 });
    expect(bodyN(pending[0]!.outbound.message.body)).toBe(1);
    await outbox.markForwarded([pending[0]!.id]);
    await outbox.markForwarded([pending[0]!.id]);
    expect((await outbox.pending(10)).map((r) => r.id)).toEqual([pending[1]!.id]);
    expect(await outbox.pending(0)).toEqual([]);
    await outbox.close();
    db.close();
  });

  it('waitForRecords wakes on a local add, on another connection’s commit, and on abort', async () => {
    const path = tmp.file();
    const outbox = new SqliteOutboxStore(path, { pollIntervalMs: 10 });
    const controller = new AbortController();
    const local = outbox.waitForRecords(controller.signal);
    outbox.add(outbound(1));
    await withTimeout(local, 1_000, 'local wake-up');

    const other = new SqliteOutboxStore(path);
    const remote = outbox.waitForRecords(controller.signal);
    other.add(outbound(2));
    await withTimeout(remote, 2_000, 'wake-up from another connection');

    const aborted = outbox.waitForRecords(controller.signal);
    controller.abort();
    await withTimeout(aborted, 1_000, 'abort');
    await other.close();
    await outbox.close();
  });

  it('lives in the same file as the transport and the other stores', async () => {
    const path = tmp.file();
    const transport = new SqliteTransport({ path });
    await transport.send('c', [msg(1)]);
    const db = new Database(path);
    const outbox = new SqliteOutboxStore(db);
    const inbox = new SqliteInboxStore(db);
    const dead = new SqliteDeadLetterStore(path);
    outbox.add(outbound(1));
    await inbox.markProcessed('h', 'm');
    await dead.add(deadLetter(1));
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'sy_%' ORDER BY name")
      .pluck()
      .all();
    expect(tables).toEqual([
      'sy_dead_letters',
      'sy_inbox',
      'sy_messages',
      'sy_meta',
      'sy_outbox',
      'sy_reply_channels',
      'sy_subscriptions',
    ]);
    await Promise.all([transport.close(), outbox.close(), inbox.close(), dead.close()]);
    db.close();
  });
});

const storeFiles = new WeakMap<object, string>();
runDeadLetterStoreConformance('SqliteDeadLetterStore', {
  open: async () => {
    const file = tmp.file();
    const store = new SqliteDeadLetterStore(file);
    storeFiles.set(store, file);
    return store;
  },
  reopen: async (store) => new SqliteDeadLetterStore(storeFiles.get(store)!),
});

describe('SqliteDeadLetterStore retention', () => {
  it('removes records older than maxAgeMs and the oldest beyond maxCount on add, nothing else', async () => {
    const store = new SqliteDeadLetterStore(tmp.file(), { retention: { maxAgeMs: 60_000, maxCount: 2 } });
    const now = Date.now();
    const old = deadLetterRecord(1, { deadLetteredAt: new Date(now - 120_000).toISOString() });
    const young = [2, 3, 4].map((n) =>
      deadLetterRecord(n, { deadLetteredAt: new Date(now - 10_000 + n).toISOString() }),
    );
    await store.add(old);
    await store.add(young[0] as DeadLetterRecord);
    expect((await store.list()).map((r) => r.id)).toEqual([young[0]?.id]);
    for (const record of young.slice(1)) await store.add(record);
    expect((await store.list()).map((r) => r.id)).toEqual([young[1]?.id, young[2]?.id]);
    await store.close();
  });

  it('offers itself through the transport hook, in the transport file', async () => {
    const file = tmp.file();
    const transport = new SqliteTransport({ path: file });
    const store = transport.deadLetterStore('orders');
    await store.add(deadLetterRecord(1));
    await store.close?.();
    await transport.close();
    const reopened = new SqliteDeadLetterStore(file);
    expect(await reopened.count()).toBe(1);
    await reopened.close();
  });
});
