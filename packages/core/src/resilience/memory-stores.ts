import { ErrorCode, SwitchyardError } from '../errors.js';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore, InboxStore } from './stores.js';

/**
 * In-memory dead letter store: for tests and the in-memory transport. Records
 * are lost with the process; use a durable store (e.g. @switchyard/sqlite) to
 * keep them.
 */
export class InMemoryDeadLetterStore implements DeadLetterStore {
  readonly #records = new Map<string, DeadLetterRecord>();

  async add(record: DeadLetterRecord): Promise<void> {
    if (!this.#records.has(record.id)) this.#records.set(record.id, record);
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    const offset = filter.offset ?? 0;
    const matching = [...this.#records.values()].filter((record) => matchesFilter(record, filter));
    // Stable sort: records dead-lettered in the same millisecond keep their insertion order.
    matching.sort((a, b) => Date.parse(a.deadLetteredAt) - Date.parse(b.deadLetteredAt));
    return matching.slice(offset, offset + (filter.limit ?? 1_000));
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    let count = 0;
    for (const record of this.#records.values()) if (matchesFilter(record, filter)) count++;
    return count;
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
  if (filter.code !== undefined && record.reason.code !== filter.code) return false;
  if (filter.search !== undefined && !record.reason.message.toLowerCase().includes(filter.search.toLowerCase())) {
    return false;
  }
  const at = Date.parse(record.deadLetteredAt);
  if (filter.since !== undefined && at < filter.since.getTime()) return false;
  if (filter.until !== undefined && at >= filter.until.getTime()) return false;
  return true;
}

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
 */
export class InMemoryInboxStore implements InboxStore {
  // Message id → the handler that processed it, or the set of them when several did. One lookup per
  // question on the hot path, where nearly every message has one handler.
  readonly #processed = new Map<string, string | Set<string>>();
  // Insertion order for eviction and prune, as parallel rings: asking a Map for its oldest key after
  // many deletes walks every deleted slot.
  readonly #ringIds: Array<string | undefined>;
  readonly #ringTimes: Float64Array;
  #next = 0;
  readonly #now: () => number;
  /** The id `isProcessed` last found absent; absent still unless `markProcessed` of it ran since. */
  #lastMiss: string | undefined;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    if (!(Number.isInteger(maxEntries) && maxEntries > 0)) {
      throw new SwitchyardError(
        ErrorCode.Configuration,
        `inbox maxEntries must be a positive integer, got ${maxEntries}`,
      );
    }
    this.#ringIds = new Array<string | undefined>(maxEntries);
    this.#ringTimes = new Float64Array(maxEntries);
  }

  isProcessed(handler: string, messageId: string): boolean {
    const seen = this.#processed.get(messageId);
    if (seen === undefined) {
      this.#lastMiss = messageId;
      return false;
    }
    return seen === handler || (typeof seen === 'object' && seen.has(handler));
  }

  markProcessed(handler: string, messageId: string): void {
    // The usual call follows `isProcessed` of the same id, which found nothing; only `markProcessed`
    // of that id adds it, and that call clears the note, so the lookup can be skipped.
    const seen = messageId === this.#lastMiss ? undefined : this.#processed.get(messageId);
    this.#lastMiss = undefined;
    if (seen === undefined) {
      const slot = this.#next;
      const evicted = this.#ringIds[slot];
      if (evicted !== undefined) this.#processed.delete(evicted);
      this.#ringIds[slot] = messageId;
      this.#ringTimes[slot] = this.#now();
      this.#next = (slot + 1) % this.#ringIds.length;
      this.#processed.set(messageId, handler);
    } else if (typeof seen === 'string') {
      if (seen !== handler) this.#processed.set(messageId, new Set([seen, handler]));
    } else {
      seen.add(handler);
    }
  }

  /** Forgets whole messages (every handler's record of them) first processed before the cutoff. */
  async prune(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    const size = this.#ringIds.length;
    let removed = 0;
    // From the oldest slot on, while entries are older than the cutoff.
    for (let i = 0, slot = this.#next; i < size; i++, slot = (slot + 1) % size) {
      const id = this.#ringIds[slot];
      if (id === undefined) continue;
      if ((this.#ringTimes[slot] as number) >= cutoff) break;
      const seen = this.#processed.get(id);
      removed += typeof seen === 'object' ? seen.size : 1;
      this.#processed.delete(id);
      this.#ringIds[slot] = undefined;
    }
    return removed;
  }
}
