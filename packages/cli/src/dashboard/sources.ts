import {
  type DeadLetterFilter,
  type DeadLetterRecord,
  ErrorCode,
  replayDeadLetter,
  type ServiceMap,
  SwitchyardError,
} from '@switchyard/core';
import { replayDispatcher, serviceMapOf } from '../commands/dlq.js';
import type { CliConfig } from '../config.js';
import { type OpenStore, openDeadLetterStore, serviceUrl } from '../stores.js';

/** At most this many matching records per store are read for one page and its counts. */
export const MAX_SCAN = 10_000;

/** A store the dashboard reads, or why it could not be opened. */
export interface SourceStatus {
  /** The store's URL, password redacted. */
  readonly url: string;
  /** The service whose store this is (broker stores), or undefined for a shared SQLite store. */
  readonly service: string | undefined;
  /** Set when the store could not be opened; the dashboard shows it and reads the other stores. */
  readonly error?: string;
}

/** One page of dead letters across every store, with counts over every match. */
export interface DeadLetterPage {
  /** How many records match, over all stores. */
  readonly total: number;
  /** The records of the page, oldest first. */
  readonly items: readonly DeadLetterRecord[];
  /** Matching records per service and per error code (over at most {@link MAX_SCAN} per store). */
  readonly counts: { readonly service: Record<string, number>; readonly code: Record<string, number> };
}

/**
 * Every dead-letter store the configuration names, opened once with the CLI's
 * {@link openDeadLetterStore}: the `deadLetters` store, and for each service of the
 * service map its transport's store (a `sqlite:` URL is opened once and shared by
 * its services). A store that fails to open is reported in {@link statuses} and
 * skipped. Replay goes through the config's service map, as `switchyard dlq replay`.
 * `close` closes every store and the service map; idempotent.
 */
export class DeadLetterSources {
  readonly #opened: OpenStore[];
  readonly #statuses: SourceStatus[];
  readonly #config: CliConfig;
  readonly #map: ServiceMap | undefined;
  /** Operations run one at a time: a broker store browses its queue under an exclusive lock. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(config: CliConfig, opened: OpenStore[], statuses: SourceStatus[]) {
    this.#config = config;
    this.#opened = opened;
    this.#statuses = statuses;
    this.#map = serviceMapOf(config);
  }

  /** Open every store the config names. Never rejects for one store; see {@link statuses}. */
  static async open(config: CliConfig): Promise<DeadLetterSources> {
    const wanted = new Map<string, { url?: string; service?: string }>();
    if (config.deadLetters !== undefined) wanted.set(config.deadLetters, { url: config.deadLetters });
    for (const service of Object.keys(config.services)) {
      const url = serviceUrl(config, service);
      if (url === undefined) continue;
      if (url.startsWith('sqlite:')) wanted.set(url, { url });
      else wanted.set(`${url}\u0000${service}`, { url, service });
    }
    const opened: OpenStore[] = [];
    const statuses: SourceStatus[] = [];
    for (const selection of wanted.values()) {
      try {
        const store = await openDeadLetterStore(config, selection);
        opened.push(store);
        statuses.push({ url: store.url, service: store.service });
      } catch (error) {
        statuses.push({
          url: selection.url ?? '',
          service: selection.service,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
    return new DeadLetterSources(config, opened, statuses);
  }

  /** The config's service map (transports opened on first use, closed by {@link close}); undefined without transports. */
  get serviceMap(): ServiceMap | undefined {
    return this.#map;
  }

  /** The stores, opened or failed. */
  get statuses(): readonly SourceStatus[] {
    return this.#statuses;
  }

  /** One page of the records matching `filter` (its offset and limit apply to the merged list), oldest first. */
  page(filter: DeadLetterFilter, offset: number, limit: number): Promise<DeadLetterPage> {
    return this.#serial(async () => {
      const { offset: _o, limit: _l, ...where } = filter;
      const all: DeadLetterRecord[] = [];
      let total = 0;
      for (const opened of this.#relevant(where)) {
        const scoped = scope(opened, where);
        const records = await opened.store.list({ ...scoped, limit: MAX_SCAN });
        // One read per store when it holds fewer than MAX_SCAN matches (a broker store browses its queue per call).
        total += records.length < MAX_SCAN ? records.length : await opened.store.count(scoped);
        all.push(...records);
      }
      all.sort((a, b) => a.deadLetteredAt.localeCompare(b.deadLetteredAt) || a.id.localeCompare(b.id));
      const counts = { service: {} as Record<string, number>, code: {} as Record<string, number> };
      for (const record of all) {
        counts.service[record.service] = (counts.service[record.service] ?? 0) + 1;
        counts.code[record.reason.code] = (counts.code[record.reason.code] ?? 0) + 1;
      }
      return { total, items: all.slice(offset, offset + limit), counts };
    });
  }

  /** The record with this id, from the first store that has it. */
  get(id: string): Promise<DeadLetterRecord | undefined> {
    return this.#serial(async () => {
      return (await this.#find(id))?.record;
    });
  }

  /** Delete the record; rejects with SY_NOT_FOUND when no store has it. */
  delete(id: string): Promise<DeadLetterRecord> {
    return this.#serial(async () => {
      const found = await this.#find(id);
      if (!found || !(await found.opened.store.delete(id))) throw notFound(id);
      return found.record;
    });
  }

  /** Replay one record to the handler that failed (then it is deleted); rejects with SY_NOT_FOUND for an unknown id. */
  replay(id: string): Promise<DeadLetterRecord> {
    return this.#serial(async () => {
      const found = await this.#find(id);
      if (!found) throw notFound(id);
      return replayDeadLetter(found.opened.store, id, replayDispatcher(this.#config, this.#map, found.opened));
    });
  }

  /** Replay every record matching `filter` (at most {@link MAX_SCAN} per store); stops at the first failure. */
  replayAll(filter: DeadLetterFilter): Promise<number> {
    return this.#serial(async () => {
      let count = 0;
      for (const opened of this.#relevant(filter)) {
        for (const record of await opened.store.list({ ...scope(opened, filter), limit: MAX_SCAN })) {
          await replayDeadLetter(opened.store, record.id, replayDispatcher(this.#config, this.#map, opened));
          count++;
        }
      }
      return count;
    });
  }

  /** Close every store and the service map (after the running operation). */
  async close(): Promise<void> {
    await this.#queue.catch(() => undefined);
    const opened = this.#opened.splice(0);
    await Promise.allSettled([...opened.map((o) => o.close()), this.#map?.close()]);
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.catch(() => undefined).then(work);
    this.#queue = next;
    return next;
  }

  #relevant(filter: DeadLetterFilter): OpenStore[] {
    return this.#opened.filter(
      (o) => o.service === undefined || filter.service === undefined || o.service === filter.service,
    );
  }

  async #find(id: string): Promise<{ opened: OpenStore; record: DeadLetterRecord } | undefined> {
    for (const opened of this.#opened) {
      const record = await opened.store.get(id);
      if (record) return { opened, record };
    }
    return undefined;
  }
}

/**
 * `filter` limited to the store's service: a store opened per service may hold other services'
 * records too (PostgreSQL's one table per schema), which another opened store already lists.
 */
function scope(opened: OpenStore, filter: DeadLetterFilter): DeadLetterFilter {
  return opened.service === undefined ? filter : { ...filter, service: opened.service };
}

function notFound(id: string): SwitchyardError {
  return new SwitchyardError(ErrorCode.NotFound, `no dead letter with id '${id}'`);
}
