import { ErrorCode, SwitchyardError } from '../errors.js';
import type { InboxStore } from './stores.js';

/** Slots of the hash table per entry at least: linear probing stays short below half full. */
const TABLE_LOAD = 2;

/**
 * In-memory inbox with a bounded size (`maxEntries`, default 10,000 messages,
 * whatever number of handlers processed each): the oldest messages are
 * forgotten first, so memory stays flat under any load. That covers what a
 * broker redelivers after a dropped connection (at most the unacked prefetch)
 * and duplicated sends; it suppresses redeliveries within one process only.
 * The default is kept small on purpose: long-lived entries are promoted to
 * V8's old space and made garbage collection the largest cost of a delivery
 * at 100,000 entries. Use a durable store (e.g. SQLite) to dedup across
 * restarts or longer spans. Answers synchronously; never throws once built.
 *
 * Every structure is allocated once, at construction: the entries live in a
 * ring (oldest overwritten first) indexed by an open-addressing hash table of
 * ring slots (linear probing, backward-shift deletion, a hash seeded randomly
 * per store). A `Map` with an entry deleted per insert cost about twice as
 * much per message and, every few thousand messages, rebuilt its whole table
 * in the large-object space.
 */
export class InMemoryInboxStore implements InboxStore {
  // The ring: message id, the handler that processed it (or the set of them when several did), the
  // id's hash and the time it was first recorded, per slot.
  readonly #ids: Array<string | undefined>;
  readonly #handlers: Array<string | Set<string> | undefined>;
  readonly #hashes: Int32Array;
  readonly #times: Float64Array;
  // Hash table: ring slot + 1 per bucket, 0 for an empty bucket.
  readonly #table: Int32Array;
  readonly #mask: number;
  readonly #seed = (Math.random() * 0x7fffffff) | 0;
  #next = 0;
  readonly #now: () => number;
  // The id `isProcessed` last found absent, and its hash: absent still unless `markProcessed` of it
  // ran since (only that call adds it, and it clears the note), so that call skips the lookup.
  #lastMiss: string | undefined;
  #lastMissHash = 0;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    if (!(Number.isInteger(maxEntries) && maxEntries > 0 && maxEntries <= 0x20000000)) {
      throw new SwitchyardError(
        ErrorCode.Configuration,
        `inbox maxEntries must be a positive integer up to 2^29, got ${maxEntries}`,
      );
    }
    this.#ids = new Array<string | undefined>(maxEntries).fill(undefined);
    this.#handlers = new Array<string | Set<string> | undefined>(maxEntries).fill(undefined);
    this.#hashes = new Int32Array(maxEntries);
    this.#times = new Float64Array(maxEntries);
    let size = 16;
    while (size < maxEntries * TABLE_LOAD) size *= 2;
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
  }

  isProcessed(handler: string, messageId: string): boolean {
    const hash = this.#hash(messageId);
    const slot = this.#find(messageId, hash);
    if (slot < 0) {
      this.#lastMiss = messageId;
      this.#lastMissHash = hash;
      return false;
    }
    const seen = this.#handlers[slot];
    return seen === handler || (typeof seen === 'object' && seen.has(handler));
  }

  markProcessed(handler: string, messageId: string): void {
    const known = messageId === this.#lastMiss;
    this.#lastMiss = undefined;
    const hash = known ? this.#lastMissHash : this.#hash(messageId);
    const found = known ? -1 : this.#find(messageId, hash);
    if (found < 0) {
      const slot = this.#next;
      if (this.#ids[slot] !== undefined) this.#remove(slot);
      this.#ids[slot] = messageId;
      this.#handlers[slot] = handler;
      this.#hashes[slot] = hash;
      this.#times[slot] = this.#now();
      this.#insert(slot, hash);
      this.#next = slot + 1 === this.#ids.length ? 0 : slot + 1;
      return;
    }
    const seen = this.#handlers[found];
    if (typeof seen === 'string') {
      if (seen !== handler) this.#handlers[found] = new Set([seen, handler]);
    } else {
      seen?.add(handler);
    }
  }

  /** Forgets whole messages (every handler's record of them) first processed before the cutoff. */
  async prune(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    const size = this.#ids.length;
    let removed = 0;
    this.#lastMiss = undefined;
    // From the oldest slot on, while entries are older than the cutoff.
    for (let i = 0, slot = this.#next; i < size; i++, slot = (slot + 1) % size) {
      if (this.#ids[slot] === undefined) continue;
      if ((this.#times[slot] as number) >= cutoff) break;
      const seen = this.#handlers[slot];
      removed += typeof seen === 'object' ? seen.size : 1;
      this.#remove(slot);
    }
    return removed;
  }

  /** FNV-1a over the UTF-16 code units, seeded, with a final avalanche (murmur3's fmix32). */
  #hash(id: string): number {
    let h = this.#seed ^ id.length;
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    return h ^ (h >>> 16);
  }

  /** The ring slot holding `id`, or -1. */
  #find(id: string, hash: number): number {
    const table = this.#table;
    const mask = this.#mask;
    for (let bucket = hash & mask; ; bucket = (bucket + 1) & mask) {
      const entry = table[bucket] as number;
      if (entry === 0) return -1;
      if (this.#hashes[entry - 1] === hash && this.#ids[entry - 1] === id) return entry - 1;
    }
  }

  #insert(slot: number, hash: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let bucket = hash & mask;
    while (table[bucket] !== 0) bucket = (bucket + 1) & mask;
    table[bucket] = slot + 1;
  }

  /** Take ring slot `slot` out of the table and the ring, shifting later entries of its probe run back. */
  #remove(slot: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let hole = (this.#hashes[slot] as number) & mask;
    while (table[hole] !== slot + 1) hole = (hole + 1) & mask;
    for (let bucket = (hole + 1) & mask; table[bucket] !== 0; bucket = (bucket + 1) & mask) {
      const entry = table[bucket] as number;
      const home = (this.#hashes[entry - 1] as number) & mask;
      // The entry may move back into the hole unless its home bucket lies cyclically in (hole, bucket].
      const stays = hole < bucket ? home > hole && home <= bucket : home > hole || home <= bucket;
      if (!stays) {
        table[hole] = entry;
        hole = bucket;
      }
    }
    table[hole] = 0;
    this.#ids[slot] = undefined;
    this.#handlers[slot] = undefined;
  }
}
