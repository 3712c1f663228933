import { describe, expect, it } from 'vitest';
import { InMemoryDeadLetterStore, InMemoryInboxStore } from './memory-stores.js';
import type { DeadLetterRecord } from './stores.js';

describe('InMemoryInboxStore', () => {
  it('remembers each handler of a message apart', () => {
    const inbox = new InMemoryInboxStore();
    expect(inbox.isProcessed('a', 'm1')).toBe(false);
    inbox.markProcessed('a', 'm1');
    expect(inbox.isProcessed('a', 'm1')).toBe(true);
    expect(inbox.isProcessed('b', 'm1')).toBe(false);
    inbox.markProcessed('b', 'm1');
    inbox.markProcessed('a', 'm1');
    expect([inbox.isProcessed('a', 'm1'), inbox.isProcessed('b', 'm1'), inbox.isProcessed('c', 'm1')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(inbox.isProcessed('a', 'm2')).toBe(false);
  });

  it('keeps every record when checks and marks of several messages and handlers interleave', () => {
    const inbox = new InMemoryInboxStore();
    expect(inbox.isProcessed('a', 'm1')).toBe(false);
    expect(inbox.isProcessed('b', 'm1')).toBe(false);
    expect(inbox.isProcessed('a', 'm2')).toBe(false);
    inbox.markProcessed('a', 'm1');
    inbox.markProcessed('b', 'm1');
    inbox.markProcessed('a', 'm2');
    expect(inbox.isProcessed('c', 'm3')).toBe(false);
    inbox.markProcessed('c', 'm1');
    inbox.markProcessed('c', 'm3');
    expect(['a', 'b', 'c'].map((handler) => inbox.isProcessed(handler, 'm1'))).toEqual([true, true, true]);
    expect(['a', 'b', 'c'].map((handler) => inbox.isProcessed(handler, 'm2'))).toEqual([true, false, false]);
    expect(['a', 'b', 'c'].map((handler) => inbox.isProcessed(handler, 'm3'))).toEqual([false, false, true]);
  });

  it('forgets the oldest messages beyond maxEntries, all their handlers with them', () => {
    const inbox = new InMemoryInboxStore({ maxEntries: 3 });
    inbox.markProcessed('a', 'm1');
    inbox.markProcessed('b', 'm1');
    for (const id of ['m2', 'm3', 'm4']) inbox.markProcessed('a', id);
    expect(inbox.isProcessed('a', 'm1')).toBe(false);
    expect(inbox.isProcessed('b', 'm1')).toBe(false);
    expect(['m2', 'm3', 'm4'].map((id) => inbox.isProcessed('a', id))).toEqual([true, true, true]);
  });

  it('prune removes the records older than the cutoff and counts each handler', async () => {
    let now = 1_000;
    const inbox = new InMemoryInboxStore({ maxEntries: 4, now: () => now });
    inbox.markProcessed('a', 'old');
    inbox.markProcessed('b', 'old');
    now = 2_000;
    inbox.markProcessed('a', 'new');
    now = 2_500;
    expect(await inbox.prune(1_000)).toBe(2);
    expect(inbox.isProcessed('a', 'old')).toBe(false);
    expect(inbox.isProcessed('a', 'new')).toBe(true);
    expect(await inbox.prune(1_000)).toBe(0);
    // The ring keeps working after a prune emptied slots.
    for (const id of ['x', 'y', 'z', 'w']) inbox.markProcessed('a', id);
    expect(inbox.isProcessed('a', 'new')).toBe(false);
    expect(inbox.isProcessed('a', 'w')).toBe(true);
  });

  it('rejects a maxEntries that is not a positive integer', () => {
    expect(() => new InMemoryInboxStore({ maxEntries: 0 })).toThrow(/maxEntries must be a positive integer/);
  });
});

describe('InMemoryDeadLetterStore', () => {
  const record = (id: string, body: Uint8Array): DeadLetterRecord => ({
    id,
    messageId: `m-${id}`,
    messageName: 'test.failed',
    service: 'svc',
    channel: 'svc',
    reason: { code: 'SY_HANDLER_FAILED', message: 'boom' },
    attempts: 3,
    firstAttemptAt: '2026-12-06T00:00:00.000Z',
    deadLetteredAt: '2026-12-06T00:00:01.000Z',
    message: { id: `m-${id}`, headers: { 'ce-id': `m-${id}` }, body },
  });

  it('keeps its own copy of a body that is a view into a larger buffer, and keeps a whole buffer as is', async () => {
    const store = new InMemoryDeadLetterStore();
    const slab = new Uint8Array(8192);
    slab.set([1, 2, 3], 100);
    await store.add(record('a', slab.subarray(100, 103)));
    const whole = new Uint8Array([4, 5]);
    await store.add(record('b', whole));
    slab.fill(9);
    const [a, b] = await store.list();
    expect([...(a as DeadLetterRecord).message.body]).toEqual([1, 2, 3]);
    expect((a as DeadLetterRecord).message.body.buffer.byteLength).toBe(3);
    expect((b as DeadLetterRecord).message.body).toBe(whole);
  });

  it('copies a pooled Buffer into a Buffer of its own', async () => {
    const store = new InMemoryDeadLetterStore();
    const pooled = Buffer.from('{"n":1}');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    await store.add(record('c', pooled));
    const [c] = await store.list();
    const body = (c as DeadLetterRecord).message.body;
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(body).toEqual(pooled);
    expect(body.buffer.byteLength).toBe(pooled.byteLength);
  });
});
