import { ErrorCode, SwitchyardError } from '../errors.js';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore, InboxStore } from './stores.js';

/**
 * In-memory dead letter store: for tests and the in-memory transport. Records
 * are lost with the process; use @switchyard/sqlite or @switchyard/postgres to
 * keep them.
 */
export class InMemoryDeadLetterStore implements DeadLetterStore {
  readonly #records = new Map<string, DeadLetterRecord>();

  async add(record: DeadLetterRecord): Promise<void> {
    if (!this.#records.has(record.id)) this.#records.set(record.id, record);
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    const limit = filter.limit ?? 1_000;
    const result: DeadLetterRecord[] = [];
    for (const record of this.#records.values()) {
      if (result.length >= limit) break;
      if (matchesFilter(record, filter)) result.push(record);
    }
    return result;
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    return this.#records.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return this.#records.delete(id);
  }
}

/** True when `record` satisfies every field of `filter`; shared by every store that filters in memory. */
export function matchesFilter(record: DeadLetterRecord, filter: DeadLetterFilter): boolean {
  if (filter.service !== undefined && record.service !== filter.service) return false;
  if (filter.handler !== undefined && record.handler !== filter.handler) return false;
  if (filter.messageName !== undefined && record.messageName !== filter.messageName) return false;
  const at = Date.parse(record.deadLetteredAt);
  if (filter.since !== undefined && at < filter.since.getTime()) return false;
  if (filter.until !== undefined && at >= filter.until.getTime()) return false;
  return true;
}

/**
 * In-memory inbox with a bounded size (`maxEntries`, default 10,000 across
 * all handlers): the oldest entries are forgotten first, so memory stays flat
 * under any load. That covers what a broker redelivers after a dropped
 * connection (at most the unacked prefetch) and duplicated sends; it
 * suppresses redeliveries within one process only. The default is kept small
 * on purpose: long-lived entries are promoted to V8's old space and made
 * garbage collection the largest cost of a delivery at 100,000 entries. Use a
 * durable store (SQLite, PostgreSQL) to dedup across restarts or longer spans.
 */
export class InMemoryInboxStore implements InboxStore {
  // handler id → message id → time processed. Nested maps avoid building a key string per lookup.
  readonly #processed = new Map<string, Map<string, number>>();
  // Insertion order for eviction, as two parallel rings: asking a Map for its
  // oldest key after many deletes walks every deleted slot.
  readonly #ringHandlers: Array<Map<string, number> | undefined>;
  readonly #ringIds: Array<string | undefined>;
  #next = 0;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    if (!(Number.isInteger(maxEntries) && maxEntries > 0)) {
      throw new SwitchyardError(
        ErrorCode.Configuration,
        `inbox maxEntries must be a positive integer, got ${maxEntries}`,
      );
    }
    this.#ringHandlers = new Array<Map<string, number> | undefined>(maxEntries);
    this.#ringIds = new Array<string | undefined>(maxEntries);
  }

  isProcessed(handler: string, messageId: string): boolean {
    return this.#processed.get(handler)?.has(messageId) ?? false;
  }

  markProcessed(handler: string, messageId: string): void {
    let ids = this.#processed.get(handler);
    if (ids === undefined) {
      ids = new Map();
      this.#processed.set(handler, ids);
    }
    if (ids.has(messageId)) return;
    const slot = this.#next;
    const evicted = this.#ringIds[slot];
    if (evicted !== undefined) this.#ringHandlers[slot]?.delete(evicted);
    this.#ringHandlers[slot] = ids;
    this.#ringIds[slot] = messageId;
    this.#next = (slot + 1) % this.#ringIds.length;
    ids.set(messageId, this.#now());
  }

  async prune(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    let removed = 0;
    for (const ids of this.#processed.values()) {
      for (const [id, at] of ids) {
        if (at >= cutoff) break;
        ids.delete(id);
        removed++;
      }
    }
    return removed;
  }
}
