import { describe, expect, it } from 'vitest';
import { InMemoryInboxStore } from './memory-inbox.js';

/** The inbox's contract in its plainest form: the last `max` distinct ids, each with its handlers. */
class Reference {
  readonly #order: string[] = [];
  readonly #handlers = new Map<string, Set<string>>();
  constructor(readonly max: number) {}
  isProcessed(handler: string, id: string): boolean {
    return this.#handlers.get(id)?.has(handler) ?? false;
  }
  markProcessed(handler: string, id: string): void {
    const seen = this.#handlers.get(id);
    if (seen !== undefined) {
      seen.add(handler);
      return;
    }
    if (this.#order.length === this.max) this.#handlers.delete(this.#order.shift() as string);
    this.#order.push(id);
    this.#handlers.set(id, new Set([handler]));
  }
}

/** A deterministic pseudo-random sequence (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('InMemoryInboxStore against a reference model', () => {
  for (const max of [1, 3, 7, 50]) {
    it(`answers as the reference does over random checks and marks (maxEntries ${max})`, () => {
      const next = random(max);
      const inbox = new InMemoryInboxStore({ maxEntries: max });
      const reference = new Reference(max);
      const handlers = ['a', 'b', 'c'];
      // Few distinct ids, so that evicted ids come back and probe runs wrap around the small table.
      const ids = Array.from({ length: max * 3 + 2 }, (_, i) => `id-${i}`);
      for (let step = 0; step < 20_000; step++) {
        const id = ids[Math.floor(next() * ids.length)] as string;
        const handler = handlers[Math.floor(next() * handlers.length)] as string;
        const expected = reference.isProcessed(handler, id);
        expect(inbox.isProcessed(handler, id), `step ${step}: ${handler} ${id}`).toBe(expected);
        if (!expected && next() < 0.7) {
          inbox.markProcessed(handler, id);
          reference.markProcessed(handler, id);
        }
      }
      for (const id of ids)
        for (const handler of handlers) expect(inbox.isProcessed(handler, id)).toBe(reference.isProcessed(handler, id));
    });
  }

  it('marks without a check first, and marks of an id checked for another handler, land alike', () => {
    const inbox = new InMemoryInboxStore({ maxEntries: 2 });
    expect(inbox.isProcessed('a', 'm1')).toBe(false);
    inbox.markProcessed('b', 'm2'); // not the id just checked
    inbox.markProcessed('a', 'm1');
    inbox.markProcessed('a', 'm1'); // idempotent
    expect([inbox.isProcessed('a', 'm1'), inbox.isProcessed('b', 'm2'), inbox.isProcessed('a', 'm2')]).toEqual([
      true,
      true,
      false,
    ]);
    inbox.markProcessed('a', 'm3'); // evicts m2, the oldest
    expect([inbox.isProcessed('b', 'm2'), inbox.isProcessed('a', 'm1'), inbox.isProcessed('a', 'm3')]).toEqual([
      false,
      true,
      true,
    ]);
  });
});
