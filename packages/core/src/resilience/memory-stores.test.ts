import { describe, expect, it } from 'vitest';
import { InMemoryInboxStore } from './memory-stores.js';

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
