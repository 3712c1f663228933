import type { TransportMessage } from '@switchyard/core/transport';
import type { SqliteDatabase, Statement } from './database.js';
import { BLOCKED_AT, createTransportSchema } from './schema.js';

/**
 * A claimed row, as the consumer turns it into a delivery: the driver's raw
 * row (an array, cheaper to build than an object, and built while the write
 * lock is held).
 */
export type ClaimedRow = readonly [
  seq: number,
  id: string,
  headers: string,
  body: Buffer,
  key: string | null,
  deliveryCount: number,
];

/** Rows per statement of {@link MessageTable.deleteUnkeyed}. */
const DELETE_CHUNK = 50;

/**
 * The prepared statements on `sy_messages` and `sy_subscriptions`. Every method
 * is synchronous and must run inside a write transaction (`BEGIN IMMEDIATE`)
 * opened by the caller, except {@link nextVisibleAt} and {@link subscriptionsVersion}.
 *
 * Per-key ordering: only the oldest row of a (channel, key) is ever visible;
 * the others wait at {@link BLOCKED_AT} and the next one is released when the
 * previous one is deleted by an ack. A nacked or leased head therefore holds
 * back its key, never the other keys.
 */
export class MessageTable {
  readonly #insertPlain: Statement;
  readonly #insertKeyed: Statement;
  readonly #claim: Statement;
  readonly #delete: Statement;
  readonly #deleteMany: Statement;
  readonly #promote: Statement;
  readonly #release: Statement;
  readonly #unclaim: Statement;
  readonly #extend: Statement;
  readonly #nextVisible: Statement;
  readonly #hasVisible: Statement;
  readonly #version: Statement;
  readonly #subscriptions: Statement;
  readonly #channelPatterns: Statement;
  readonly #addPattern: Statement;
  readonly #removePattern: Statement;
  readonly #bumpVersion: Statement;

  constructor(readonly db: SqliteDatabase) {
    createTransportSchema(db);
    this.#insertPlain = db.prepare(
      'INSERT INTO sy_messages (channel, id, headers, body, due_at, visible_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#insertKeyed = db.prepare(
      `INSERT INTO sy_messages (channel, id, headers, body, key, due_at, visible_at)
       VALUES (@channel, @id, @headers, @body, @key, @due,
         CASE WHEN EXISTS (SELECT 1 FROM sy_messages WHERE channel = @channel AND key = @key) THEN ${BLOCKED_AT} ELSE @due END)`,
    );
    this.#claim = db.prepare(
      `UPDATE sy_messages SET visible_at = @until, lease_owner = @owner, delivery_count = delivery_count + 1
       WHERE seq IN (SELECT seq FROM sy_messages WHERE channel = @channel AND visible_at <= @now
                     ORDER BY visible_at, seq LIMIT @limit)
       RETURNING seq, id, headers, body, key, delivery_count`,
    );
    this.#claim.raw(true);
    this.#delete = db.prepare('DELETE FROM sy_messages WHERE seq = ?');
    this.#deleteMany = db.prepare(
      `DELETE FROM sy_messages WHERE seq IN (${Array.from({ length: DELETE_CHUNK }, () => '?').join(', ')})`,
    );
    this.#promote = db.prepare(
      `UPDATE sy_messages SET visible_at = due_at
       WHERE seq = (SELECT seq FROM sy_messages WHERE channel = ? AND key = ? ORDER BY seq LIMIT 1)
         AND visible_at = ${BLOCKED_AT}`,
    );
    this.#release = db.prepare(
      'UPDATE sy_messages SET visible_at = ?, lease_owner = NULL WHERE seq = ? AND lease_owner = ?',
    );
    this.#unclaim = db.prepare(
      'UPDATE sy_messages SET visible_at = ?, lease_owner = NULL, delivery_count = delivery_count - 1 WHERE seq = ? AND lease_owner = ?',
    );
    this.#extend = db.prepare('UPDATE sy_messages SET visible_at = ? WHERE seq = ? AND lease_owner = ?');
    this.#nextVisible = db
      .prepare('SELECT visible_at FROM sy_messages WHERE channel = ? ORDER BY visible_at LIMIT 1')
      .pluck();
    this.#hasVisible = db.prepare('SELECT 1 FROM sy_messages WHERE channel = ? AND visible_at <= ? LIMIT 1').pluck();
    this.#version = db.prepare("SELECT value FROM sy_meta WHERE name = 'subscriptions_version'").pluck();
    this.#subscriptions = db.prepare('SELECT channel, pattern FROM sy_subscriptions ORDER BY channel, pattern');
    this.#channelPatterns = db.prepare('SELECT pattern FROM sy_subscriptions WHERE channel = ?').pluck();
    this.#addPattern = db.prepare('INSERT OR IGNORE INTO sy_subscriptions (channel, pattern) VALUES (?, ?)');
    this.#removePattern = db.prepare('DELETE FROM sy_subscriptions WHERE channel = ? AND pattern = ?');
    this.#bumpVersion = db.prepare("UPDATE sy_meta SET value = value + 1 WHERE name = 'subscriptions_version'");
  }

  /** Append one message to `channel`, visible at `deliverAt` or `now`. */
  insert(channel: string, message: TransportMessage, headersJson: string, now: number): void {
    // An absurd deliverAt (Infinity, past the sentinel) is held as long as possible, never beyond the sentinel.
    const due =
      message.deliverAt !== undefined && message.deliverAt > now
        ? Math.min(Math.floor(message.deliverAt), BLOCKED_AT - 1)
        : now;
    // The driver binds any Uint8Array (views included) as a BLOB: no conversion needed.
    const body = message.body;
    if (message.key === undefined) {
      this.#insertPlain.run(channel, message.id, headersJson, body, due, due);
    } else {
      this.#insertKeyed.run({ channel, id: message.id, headers: headersJson, body, key: message.key, due });
    }
  }

  /** Lease up to `limit` visible rows of `channel` to `owner` until `until`; oldest due first. */
  claim(channel: string, limit: number, owner: string, now: number, until: number): ClaimedRow[] {
    const rows = this.#claim.all({ channel, limit, owner, now, until }) as unknown as ClaimedRow[];
    // RETURNING does not keep the subquery's order; seq is send order.
    return rows.sort((a, b) => a[0] - b[0]);
  }

  /** Delete an acked row (whoever holds it) and release the next row of its key. */
  delete(seq: number, channel: string, key: string | null): void {
    const { changes } = this.#delete.run(seq);
    if (key !== null && changes > 0) this.#promote.run(channel, key);
  }

  /**
   * Delete acked rows without a key (whoever holds them): one statement per
   * {@link DELETE_CHUNK} rows instead of one per row. Keyed rows go through
   * {@link delete}, which also releases the next row of the key.
   */
  deleteUnkeyed(seqs: readonly number[]): void {
    for (let from = 0; from < seqs.length; from += DELETE_CHUNK) {
      const chunk = seqs.slice(from, from + DELETE_CHUNK);
      // Unused slots repeat a seq of the chunk: IN ignores duplicates.
      while (chunk.length < DELETE_CHUNK) chunk.push(chunk[0]!);
      this.#deleteMany.run(chunk);
    }
  }

  /** Give a row back, visible at `visibleAt`, if `owner` still holds its lease. */
  release(seq: number, owner: string, visibleAt: number): void {
    this.#release.run(visibleAt, seq, owner);
  }

  /** Give back a row that was claimed but never handed to a handler, undoing its delivery count. */
  unclaim(seq: number, owner: string, visibleAt: number): void {
    this.#unclaim.run(visibleAt, seq, owner);
  }

  /** Push the lease of a row held by `owner` to `until`. */
  extend(seq: number, owner: string, until: number): void {
    this.#extend.run(until, seq, owner);
  }

  /** True when `channel` has a row that a claim would take now. A plain read: no write lock, no transaction needed. */
  hasVisible(channel: string, now: number): boolean {
    return this.#hasVisible.get(channel, now) !== undefined;
  }

  /** Earliest `visible_at` on `channel` (a due message or an expiring lease), or undefined when nothing can become visible. */
  nextVisibleAt(channel: string): number | undefined {
    const at = this.#nextVisible.get(channel) as number | undefined;
    return at === undefined || at >= BLOCKED_AT ? undefined : at;
  }

  /** Counter bumped whenever a provision changed the subscriptions. */
  subscriptionsVersion(): number {
    return this.#version.get() as number;
  }

  /** Every (channel, pattern) subscription. */
  subscriptions(): Array<{ channel: string; pattern: string }> {
    return this.#subscriptions.all() as Array<{ channel: string; pattern: string }>;
  }

  /** Make `channel`'s patterns exactly `patterns`; bumps the version when something changed. */
  setPatterns(channel: string, patterns: readonly string[]): void {
    const wanted = new Set(patterns);
    const existing = new Set(this.#channelPatterns.all(channel) as string[]);
    let changed = false;
    for (const pattern of existing) {
      if (!wanted.has(pattern)) {
        this.#removePattern.run(channel, pattern);
        changed = true;
      }
    }
    for (const pattern of wanted) {
      if (!existing.has(pattern)) {
        this.#addPattern.run(channel, pattern);
        changed = true;
      }
    }
    if (changed) this.#bumpVersion.run();
  }
}
