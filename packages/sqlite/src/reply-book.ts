import { ErrorCode, type ReplyChannelBook, type TransportMessage } from '@switchyard/core/transport';
import { guard, type SqliteDatabase, type Statement, withBusyTimeout } from './database.js';

/** Reply channel names start with this; `sy_messages` rows under it belong to reply channels. */
export const REPLY_PREFIX = 'sy.reply.';
/** The first name after every `sy.reply.…` name, so a range scan of the channel index finds them all. */
const REPLY_PREFIX_END = 'sy.reply/';

interface ReplyStatements {
  readonly touch: Statement;
  readonly exists: Statement;
  readonly removeRows: Statement;
  readonly removeChannel: Statement;
  readonly sweepRows: Statement;
  readonly sweepChannels: Statement;
}

/**
 * The book of reply channels in table `sy_reply_channels` of the transport's
 * database; the replies themselves are ordinary `sy_messages` rows of channel
 * `sy.reply.<owner>`. Every process that opens a reply channel sweeps expired
 * ones first, rows included, and rows of reply channels missing from the book
 * (a reply that raced a close). Writes run in immediate transactions within
 * the transport's busy timeout; failures are `TransportError`s.
 */
export class SqliteReplyBook implements ReplyChannelBook {
  readonly #db: () => SqliteDatabase;
  readonly #send: (channel: string, messages: readonly TransportMessage[]) => Promise<void>;
  readonly #busyTimeoutMs: number;
  #statements: { db: SqliteDatabase; prepared: ReplyStatements } | undefined;

  constructor(
    db: () => SqliteDatabase,
    send: (channel: string, messages: readonly TransportMessage[]) => Promise<void>,
    busyTimeoutMs: number,
  ) {
    this.#db = db;
    this.#send = send;
    this.#busyTimeoutMs = busyTimeoutMs;
  }

  async sweep(now: number): Promise<void> {
    this.#write('sweeping expired reply channels failed', (s) => {
      s.sweepRows.run(now, REPLY_PREFIX, REPLY_PREFIX_END);
      s.sweepChannels.run(now);
    });
  }

  async touch(channel: string, expireAfterMs: number, now: number): Promise<void> {
    this.#write('recording a reply channel failed', (s) => s.touch.run(channel, now, expireAfterMs));
  }

  async deliver(channel: string, message: TransportMessage): Promise<void> {
    const { exists } = this.#prepared();
    if (exists.get(channel) === undefined) return;
    await this.#send(channel, [message]);
  }

  async remove(channel: string): Promise<void> {
    this.#write('removing a reply channel failed', (s) => {
      s.removeRows.run(channel);
      s.removeChannel.run(channel);
    });
  }

  #write(what: string, work: (statements: ReplyStatements) => void): void {
    const statements = this.#prepared();
    const db = this.#db();
    guard(ErrorCode.TransportUnavailable, what, () =>
      withBusyTimeout(db, this.#busyTimeoutMs, () => db.transaction(() => work(statements)).immediate()),
    );
  }

  #prepared(): ReplyStatements {
    const db = this.#db();
    if (this.#statements?.db !== db) {
      const expired = 'seen_at + expire_ms < ?';
      this.#statements = {
        db,
        prepared: {
          touch: db.prepare(
            `INSERT INTO sy_reply_channels (channel, seen_at, expire_ms) VALUES (?, ?, ?)
             ON CONFLICT (channel) DO UPDATE SET seen_at = excluded.seen_at, expire_ms = excluded.expire_ms`,
          ),
          exists: db.prepare('SELECT 1 FROM sy_reply_channels WHERE channel = ?').pluck(),
          removeRows: db.prepare('DELETE FROM sy_messages WHERE channel = ?'),
          removeChannel: db.prepare('DELETE FROM sy_reply_channels WHERE channel = ?'),
          sweepRows: db.prepare(
            `DELETE FROM sy_messages WHERE channel IN (SELECT channel FROM sy_reply_channels WHERE ${expired})
               OR (channel >= ? AND channel < ? AND channel NOT IN (SELECT channel FROM sy_reply_channels))`,
          ),
          sweepChannels: db.prepare(`DELETE FROM sy_reply_channels WHERE ${expired}`),
        },
      };
    }
    return this.#statements.prepared;
  }
}
