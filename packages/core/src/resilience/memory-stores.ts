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
 * In-memory inbox with a bounded size: the oldest entries are forgotten first,
 * so memory stays flat under any load. Suppresses redeliveries within one
 * process only; a durable store is needed across restarts.
 */
export class InMemoryInboxStore implements InboxStore {
  readonly #processed = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
    this.#now = options.now ?? Date.now;
    if (!(this.#maxEntries > 0)) {
      throw new SwitchyardError(ErrorCode.Configuration, 'inbox maxEntries must be positive');
    }
  }

  async isProcessed(handler: string, messageId: string): Promise<boolean> {
    return this.#processed.has(`${handler}\u0000${messageId}`);
  }

  async markProcessed(handler: string, messageId: string): Promise<void> {
    const key = `${handler}\u0000${messageId}`;
    if (this.#processed.has(key)) return;
    this.#processed.set(key, this.#now());
    if (this.#processed.size > this.#maxEntries) {
      const oldest = this.#processed.keys().next();
      if (!oldest.done) this.#processed.delete(oldest.value);
    }
  }

  async prune(olderThanMs: number): Promise<number> {
    const cutoff = this.#now() - olderThanMs;
    let removed = 0;
    for (const [key, at] of this.#processed) {
      if (at >= cutoff) break;
      this.#processed.delete(key);
      removed++;
    }
    return removed;
  }
}
