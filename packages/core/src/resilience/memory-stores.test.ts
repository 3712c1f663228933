import { describe, expect, it } from 'vitest';
import { utf8Bytes } from '../message/utf8-bytes.js';
import { InMemoryDeadLetterStore, InMemoryInboxStore } from './memory-stores.js';

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
  it('keeps a body sliced from a shared buffer as a copy of its own bytes, and the record otherwise as given', async () => {
    const store = new InMemoryDeadLetterStore();
    const body = utf8Bytes('{"n":1}');
    expect(body.buffer.byteLength).toBeGreaterThan(body.byteLength); // a slice of Node's pool
    const record = {
      id: 'r1',
      messageId: 'm1',
      messageName: 'test.work',
      service: 'svc',
      channel: 'svc',
      reason: { code: 'SY_VALIDATION', message: 'bad' },
      attempts: 1,
      firstAttemptAt: '2026-01-01T00:00:00.000Z',
      deadLetteredAt: '2026-01-01T00:00:00.000Z',
      message: { id: 'm1', headers: { 'ce-id': 'm1' }, body },
    };
    await store.add(record);
    const kept = await store.get('r1');
    expect(kept?.message.body.buffer.byteLength).toBe(body.byteLength);
    expect(new TextDecoder().decode(kept?.message.body)).toBe('{"n":1}');
    expect({ ...kept, message: { ...kept?.message, body: undefined } }).toEqual({
      ...record,
      message: { ...record.message, body: undefined },
    });
  });
});
