import {
  checkRetention,
  countDeadLetters,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterRetention,
  type DeadLetterStore,
  decodeDeadLetter,
  ErrorCode,
  encodeDeadLetter,
  selectDeadLetters,
  TransportError,
} from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import { wrapError } from './errors.js';
import { LuaScript } from './scripts.js';

/**
 * Add one record and enforce retention, atomically. KEYS: hash, index. ARGV: id, record JSON,
 * dead-lettered ms, cutoff ms ('' = no max age), max count ('' = none). Returns 1 when added.
 */
const ADD = new LuaScript(`
local added = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
if added == 1 then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
if ARGV[4] ~= '' then
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
  for i = 1, #old, 500 do
    local chunk = {unpack(old, i, math.min(i + 499, #old))}
    redis.call('HDEL', KEYS[1], unpack(chunk))
    redis.call('ZREM', KEYS[2], unpack(chunk))
  end
end
if ARGV[5] ~= '' then
  local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
  if over > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[2], over)
    for i = 1, #popped, 2 do redis.call('HDEL', KEYS[1], popped[i]) end
  end
end
return added
`);

/** Remove one record. KEYS: hash, index. ARGV: id. Returns 1 when there was one. */
const DELETE = new LuaScript(`
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
`);

/** Options of {@link RedisDeadLetterStore}. */
export interface RedisDeadLetterStoreOptions {
  /** The connection to use (the transport's); the store never closes it. Called on each operation. */
  readonly connection: () => Redis;
  /** Key prefix, as the transport's (`switchyard`). */
  readonly prefix: string;
  /** The service whose dead letters these are. */
  readonly service: string;
  /** Optional max age / max count, enforced on every `add` (see {@link DeadLetterRetention}). */
  readonly retention?: DeadLetterRetention;
}

const BATCH = 500;

/**
 * Dead letters of one service on Redis: hash `<prefix>:dl:<service>` (record id → the record as
 * JSON, original body in base64) and sorted set `<prefix>:dl:<service>:at` (record id by
 * dead-lettered time), changed together by Lua scripts.
 *
 * - `add` is idempotent on the record id (the first write wins) and resolves once Redis executed
 *   the script: as durable as the server's persistence (AOF `appendfsync everysec` loses at most a
 *   second on a crash of Redis itself; with persistence off, records live as long as the server).
 * - `get` and `delete` are one command each; `count` without filters other than time is ZCOUNT.
 * - `list` reads ids in time order from the index (ZRANGEBYSCORE with LIMIT when only time and
 *   paging filter) and records in batches of 500 (HMGET); other filters read every record of the
 *   time window and filter here. Tens of thousands of records list in well under a second; memory
 *   is the records' size on the server.
 * - Retention (optional): each `add` removes records older than `maxAgeMs` and the oldest beyond
 *   `maxCount`, in the same script, exactly; nothing younger is removed.
 * - `close` only marks the store closed (later calls reject with SY_CLOSED); the connection stays
 *   the transport's. Errors reject as TransportError (SY_SEND_FAILED for `add`).
 */
export class RedisDeadLetterStore implements DeadLetterStore {
  readonly #options: RedisDeadLetterStoreOptions;
  readonly #hash: string;
  readonly #index: string;
  #closed = false;

  /** Throws a ConfigurationError for an invalid retention; does no I/O. */
  constructor(options: RedisDeadLetterStoreOptions) {
    checkRetention('RedisDeadLetterStore', options.retention);
    this.#options = options;
    this.#hash = `${options.prefix}:dl:${options.service}`;
    this.#index = `${this.#hash}:at`;
  }

  async add(record: DeadLetterRecord): Promise<void> {
    const conn = this.#conn();
    const retention = this.#options.retention;
    const cutoff = retention?.maxAgeMs === undefined ? '' : String(Date.now() - retention.maxAgeMs);
    try {
      await ADD.run(
        conn,
        [this.#hash, this.#index],
        [record.id, encodeDeadLetter(record), Date.parse(record.deadLetteredAt), cutoff, retention?.maxCount ?? ''],
      );
    } catch (error) {
      throw wrapError(error, ErrorCode.SendFailed, `cannot store dead letter '${record.id}'`);
    }
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    const conn = this.#conn();
    const [min, max] = scoreRange(filter);
    try {
      if (onlyTime(filter)) {
        const ids = await conn.zrangebyscore(this.#index, min, max, 'LIMIT', filter.offset ?? 0, filter.limit ?? 1_000);
        return this.#read(conn, ids);
      }
      const ids = await conn.zrangebyscore(this.#index, min, max);
      return selectDeadLetters(await this.#read(conn, ids), filter);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, 'cannot list dead letters');
    }
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    const conn = this.#conn();
    const [min, max] = scoreRange(filter);
    try {
      if (onlyTime(filter)) return await conn.zcount(this.#index, min, max);
      return countDeadLetters(await this.#read(conn, await conn.zrangebyscore(this.#index, min, max)), filter);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, 'cannot count dead letters');
    }
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    const conn = this.#conn();
    try {
      const raw = await conn.hgetBuffer(this.#hash, id);
      return raw === null ? undefined : decodeDeadLetter(raw);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, `cannot read dead letter '${id}'`);
    }
  }

  async delete(id: string): Promise<boolean> {
    const conn = this.#conn();
    try {
      return (await DELETE.run(conn, [this.#hash, this.#index], [id])) === 1;
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, `cannot delete dead letter '${id}'`);
    }
  }

  /** Idempotent; the connection is the transport's and stays open. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Records of `ids` in that order; ids deleted meanwhile are skipped. */
  async #read(conn: Redis, ids: readonly string[]): Promise<DeadLetterRecord[]> {
    const records: DeadLetterRecord[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const values = await conn.hmgetBuffer(this.#hash, ...ids.slice(i, i + BATCH));
      for (const value of values) if (value !== null) records.push(decodeDeadLetter(value));
    }
    return records;
  }

  #conn(): Redis {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, 'the Redis dead-letter store is closed');
    return this.#options.connection();
  }
}

function onlyTime(filter: DeadLetterFilter): boolean {
  return (
    filter.service === undefined &&
    filter.handler === undefined &&
    filter.messageName === undefined &&
    filter.code === undefined &&
    filter.search === undefined
  );
}

function scoreRange(filter: DeadLetterFilter): [string, string] {
  return [
    filter.since === undefined ? '-inf' : String(filter.since.getTime()),
    filter.until === undefined ? '+inf' : `(${filter.until.getTime()}`,
  ];
}
