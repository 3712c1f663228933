import {
  ErrorCode,
  type RoutedMessage,
  SendBatcher,
  storedHeaders,
  type TransportMessage,
} from '@switchyard/core/transport';
import type pg from 'pg';
import type { WakeHub } from './listener.js';
import type { Notifier } from './notifier.js';
import { wrap } from './queue-access.js';
import { deliverAtParam, type InsertRow, type PublishRow, type Statements } from './statements.js';

/** What a {@link RowWriter} writes with. */
export interface RowWriterParts {
  readonly statements: Statements;
  /** The transport's pool, its schema migrated. */
  readonly pool: () => Promise<pg.Pool>;
  /** Wakes this process's consumers of a channel. */
  readonly hub: WakeHub;
  /** Wakes other processes' consumers. */
  readonly notifier: Notifier;
  readonly maxMessageBytes: number;
  /** Concurrent inserts at most (each on its own pooled connection). */
  readonly maxInFlight: number;
}

/**
 * The write path of the PostgreSQL transport: `send` and `publish` turn messages into rows,
 * and concurrent calls in one event-loop turn are inserted by one statement (one round trip, one
 * commit, at most 500 rows); a call never partially commits. `publish` inserts one row per
 * channel whose subscriptions match, joined from `sy_subscriptions` in the same statement. Each
 * resolves once committed, then wakes the consumers of the channels it wrote to (in this
 * process at once, in others by NOTIFY). A message that is not bytes or is over the size limit
 * rejects before anything is written (see {@link storedHeaders}); a failed insert rejects with
 * `SY_SEND_FAILED`.
 */
export class RowWriter {
  readonly #parts: RowWriterParts;
  readonly #sends: SendBatcher<InsertRow>;
  readonly #publishes: SendBatcher<PublishRow>;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(parts: RowWriterParts) {
    this.#parts = parts;
    const batching = { maxBatch: 500, maxInFlight: parts.maxInFlight };
    this.#sends = new SendBatcher((rows) => this.#insert(rows), batching);
    this.#publishes = new SendBatcher((rows) => this.#fanOut(rows), batching);
  }

  /** Insert `messages` into `channel`; resolves once committed. */
  send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    let rows: InsertRow[];
    try {
      const now = Date.now();
      rows = messages.map((message) => ({ channel, ...this.#columns(message, now) }));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#track(this.#sends.submit(rows));
  }

  /** Insert each message into every channel subscribed to its routing key; resolves once committed. */
  publish(messages: readonly RoutedMessage[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    let rows: PublishRow[];
    try {
      const now = Date.now();
      rows = messages.map((message) => ({ routingKey: message.routingKey, ...this.#columns(message, now) }));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#track(this.#publishes.submit(rows));
  }

  /** Resolves once every send and publish accepted so far has settled (close). Never rejects. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#inFlight.add(promise);
    const done = () => this.#inFlight.delete(promise);
    promise.then(done, done);
    return promise;
  }

  async #insert(rows: InsertRow[]): Promise<void> {
    const pool = await this.#parts
      .pool()
      .catch((error: unknown) => Promise.reject(wrap(error, 'send failed', ErrorCode.SendFailed)));
    try {
      await this.#parts.statements.insert(pool, rows);
    } catch (error) {
      throw wrap(error, `send of ${rows.length} messages failed`, ErrorCode.SendFailed);
    }
    this.#woke(new Set(rows.map((row) => row.channel)));
  }

  async #fanOut(rows: PublishRow[]): Promise<void> {
    const pool = await this.#parts
      .pool()
      .catch((error: unknown) => Promise.reject(wrap(error, 'publish failed', ErrorCode.SendFailed)));
    let channels: string[];
    try {
      channels = await this.#parts.statements.publish(pool, rows);
    } catch (error) {
      throw wrap(error, `publish of ${rows.length} messages failed`, ErrorCode.SendFailed);
    }
    this.#woke(channels);
  }

  /** After a commit: wake this process's consumers of `channels` now, other processes' by NOTIFY. */
  #woke(channels: Iterable<string>): void {
    for (const channel of channels) this.#parts.hub.notify(channel);
    this.#parts.notifier.notify(channels);
  }

  #columns(message: TransportMessage, now: number): Omit<InsertRow, 'channel'> {
    return {
      id: message.id,
      headers: storedHeaders(message, this.#parts.maxMessageBytes, 'PostgreSQL'),
      body: message.body,
      key: message.key ?? null,
      deliverAt: deliverAtParam(message.deliverAt, now),
    };
  }
}
