import { withOwnBody } from '../message/utf8-bytes.js';
import type { DeadLetterFilter, DeadLetterRecord, DeadLetterStore } from './stores.js';

/**
 * In-memory dead letter store: for tests and the in-memory transport. Records
 * are lost with the process; use a durable store (e.g. @switchyard/sqlite) to
 * keep them.
 */
export class InMemoryDeadLetterStore implements DeadLetterStore {
  readonly #records = new Map<string, DeadLetterRecord>();

  /**
   * Keeps `record` (a second add of the same id is a no-op). A body that is a view into a
   * larger buffer (Node pools small Buffers in 8 KiB slabs; drivers hand out slices of their
   * read buffers) is copied, so that a kept dead letter holds its own bytes, not the slab.
   */
  async add(record: DeadLetterRecord): Promise<void> {
    if (this.#records.has(record.id)) return;
    const message = withOwnBody(record.message);
    this.#records.set(record.id, message === record.message ? record : { ...record, message });
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

export { InMemoryInboxStore } from './memory-inbox.js';
