import type { ReplyChannelBook, TransportMessage } from '@switchyard/core/transport';
import type pg from 'pg';
import { wrap } from './queue-access.js';

/** Reply channel names start with this; `sy_messages` rows under it belong to reply channels. */
export const REPLY_PREFIX = 'sy.reply.';

/**
 * The book of reply channels in table `sy_reply_channels` of the transport's
 * schema; the replies themselves are ordinary `sy_messages` rows of channel
 * `sy.reply.<owner>`. Times are the database's (`now()`), so instances on
 * hosts with skewed clocks agree on expiry. Every process that opens a reply
 * channel sweeps the expired ones first, rows included, and rows of reply
 * channels missing from the book (a reply that raced a close). Failures are
 * `TransportError`s.
 */
export class PostgresReplyBook implements ReplyChannelBook {
  readonly #pool: () => Promise<pg.Pool>;
  readonly #send: (channel: string, messages: readonly TransportMessage[]) => Promise<void>;
  readonly #table: string;
  readonly #messages: string;

  /** `schema` is already quoted. */
  constructor(
    pool: () => Promise<pg.Pool>,
    send: (channel: string, messages: readonly TransportMessage[]) => Promise<void>,
    schema: string,
  ) {
    this.#pool = pool;
    this.#send = send;
    this.#table = `${schema}.sy_reply_channels`;
    this.#messages = `${schema}.sy_messages`;
  }

  async sweep(): Promise<void> {
    const expired = `SELECT channel FROM ${this.#table} WHERE seen_at + expire_ms * interval '1 millisecond' < now()`;
    await this.#query(
      'sweeping expired reply channels failed',
      `WITH gone AS (DELETE FROM ${this.#table} WHERE channel IN (${expired}) RETURNING channel)
       DELETE FROM ${this.#messages} WHERE channel IN (SELECT channel FROM gone)
         OR (channel >= $1 AND channel < $2 AND NOT EXISTS
              (SELECT 1 FROM ${this.#table} r WHERE r.channel = ${this.#messages}.channel))`,
      [REPLY_PREFIX, 'sy.reply/'],
    );
  }

  async touch(channel: string, expireAfterMs: number): Promise<void> {
    await this.#query(
      'recording a reply channel failed',
      `INSERT INTO ${this.#table} (channel, seen_at, expire_ms) VALUES ($1, now(), $2)
       ON CONFLICT (channel) DO UPDATE SET seen_at = now(), expire_ms = EXCLUDED.expire_ms`,
      [channel, expireAfterMs],
    );
  }

  async deliver(channel: string, message: TransportMessage): Promise<void> {
    const found = await this.#query(
      'looking up a reply channel failed',
      `SELECT 1 FROM ${this.#table} WHERE channel = $1`,
      [channel],
    );
    if (found.rowCount === 0) return;
    await this.#send(channel, [message]);
  }

  async remove(channel: string): Promise<void> {
    await this.#query(
      'removing a reply channel failed',
      `WITH gone AS (DELETE FROM ${this.#table} WHERE channel = $1)
       DELETE FROM ${this.#messages} WHERE channel = $1`,
      [channel],
    );
  }

  async #query(what: string, sql: string, values: unknown[]): Promise<pg.QueryResult> {
    try {
      return await (await this.#pool()).query(sql, values);
    } catch (error) {
      throw wrap(error, what);
    }
  }
}
