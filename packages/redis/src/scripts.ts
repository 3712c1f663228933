import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Lua scripts that make every multi-step operation atomic on the server.
 * Each one is safe to run twice with the same arguments (ioredis re-sends
 * in-flight commands after a reconnect): appends are guarded by a marker key,
 * moves by the XACK/ZREM that precede them.
 *
 * A message travels as stream fields: `i` id, `h` headers (JSON), `b` body,
 * `k` key, `t` deliverAt, `d` deliveries before this entry (set by nack).
 * In the delay set a member is `cmsgpack.pack(unique, field, value, …)`.
 */

/**
 * Server time in ms, and the append of one message. Messages arrive packed in
 * one binary argument (see `codec.ts` `packMessages`): per message, five
 * length-prefixed strings (id, headers JSON, body, key as '' or '+key',
 * deliverAt as '' or epoch ms), read with the struct library. One argument
 * instead of five per message is much cheaper to build and send.
 */
const APPEND = `
local now = nil
local function clock()
  if not now then local t = redis.call('TIME'); now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
  return now
end
local MESSAGE = '>I4c0I4c0I4c0I4c0I4c0'
local call = redis.call
-- Any message: XADD, or ZADD to the delay set (member unique by marker and position n) when due later.
-- Callers handle the common case (no key, no deliverAt) inline: a function call, a table and the
-- member's string per message are measurably slower on the server (~15% of a send).
local function append(stream, delay, marker, n, id, h, b, key, at)
  local f = {'i', id, 'h', h, 'b', b}
  if key ~= '' then f[#f + 1] = 'k'; f[#f + 1] = string.sub(key, 2) end
  if at ~= '' then
    f[#f + 1] = 't'; f[#f + 1] = at
    if tonumber(at) > clock() then
      call('ZADD', delay, at, cmsgpack.pack(marker .. ':' .. n, unpack(f)))
      return
    end
  end
  call('XADD', stream, '*', unpack(f))
end
`;

/**
 * send: KEYS marker, stream, delay set. ARGV ttl, packed messages.
 * Returns 1 when appended, 0 when the marker existed (a re-sent duplicate).
 */
const SEND = `${APPEND}
if ARGV[1] ~= '0' and not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local blob, stream = ARGV[2], KEYS[2]
local pos, n, size = 1, 0, #blob
while pos <= size do
  local id, h, b, key, at
  id, h, b, key, at, pos = struct.unpack(MESSAGE, blob, pos)
  n = n + 1
  if at == '' and key == '' then
    call('XADD', stream, '*', 'i', id, 'h', h, 'b', b)
  else
    append(stream, KEYS[3], KEYS[1], n, id, h, b, key, at)
  end
end
return 1
`;

/**
 * publish: KEYS marker, registry version, then (stream, delay) per target channel.
 * ARGV ttl, expected registry version, packed messages each preceded by its
 * target count and target indexes (u32, 1-based). Returns -1 when the registry
 * changed since the caller matched patterns (nothing written), else as send.
 */
const PUBLISH = `${APPEND}
local version = redis.call('GET', KEYS[2]) or '0'
if version ~= ARGV[2] then return -1 end
if ARGV[1] ~= '0' and not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local blob = ARGV[3]
local pos, n, size = 1, 0, #blob
while pos <= size do
  local count
  count, pos = struct.unpack('>I4', blob, pos)
  local targets = {}
  for t = 1, count do targets[t], pos = struct.unpack('>I4', blob, pos) end
  local id, h, b, key, at
  id, h, b, key, at, pos = struct.unpack(MESSAGE, blob, pos)
  n = n + 1
  for t = 1, count do
    local c = targets[t]
    if at == '' and key == '' then
      call('XADD', KEYS[1 + 2 * c], '*', 'i', id, 'h', h, 'b', b)
    else
      append(KEYS[1 + 2 * c], KEYS[2 + 2 * c], KEYS[1], n, id, h, b, key, at)
    end
  end
end
return 1
`;

/** ack: KEYS stream. ARGV group, ids. XACK + XDEL, so acknowledged entries leave the stream at once. */
const ACK = `
local ids = {unpack(ARGV, 2)}
local n = redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
redis.call('XDEL', KEYS[1], unpack(ids))
return n
`;

/**
 * nack: KEYS stream, delay set. ARGV group, entry id, deliveries so far, delay ms.
 * Moves the entry to the stream's tail (or the delay set) with `d` updated, only
 * if it was still pending, so a re-sent nack never duplicates it.
 */
const NACK = `
local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
if #e == 0 then return 0 end
local src, f = e[1][2], {}
for i = 1, #src, 2 do
  if src[i] ~= 'd' then f[#f + 1] = src[i]; f[#f + 1] = src[i + 1] end
end
if ARGV[3] ~= '0' then f[#f + 1] = 'd'; f[#f + 1] = ARGV[3] end
local delay = tonumber(ARGV[4])
if delay > 0 then
  local t = redis.call('TIME')
  local due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + delay
  redis.call('ZADD', KEYS[2], due, cmsgpack.pack(ARGV[2], unpack(f)))
else
  redis.call('XADD', KEYS[1], '*', unpack(f))
end
return 1
`;

/**
 * move: KEYS delay set, stream. ARGV limit. Moves due members to the stream.
 * Returns {moved, ms until the next member is due or -1 when none}.
 */
const MOVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, m in ipairs(due) do
  local v = {cmsgpack.unpack(m)}
  redis.call('XADD', KEYS[2], '*', unpack(v, 2))
  redis.call('ZREM', KEYS[1], m)
end
local nxt = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local wait = -1
if #nxt > 0 then wait = math.max(0, tonumber(nxt[2]) - now) end
return {#due, wait}
`;

/**
 * provision: KEYS registry hash, version. ARGV (channel, space-joined sorted patterns or '') pairs.
 * Sets each channel's patterns exactly; bumps the version only when something changed.
 */
const PROVISION = `
local changed = false
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if ARGV[i + 1] == '' then
    if cur then redis.call('HDEL', KEYS[1], ARGV[i]); changed = true end
  elseif cur ~= ARGV[i + 1] then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]); changed = true
  end
end
if changed then return redis.call('INCR', KEYS[2]) end
return 0
`;

/**
 * deleteConsumer: KEYS stream. ARGV group, consumer, min idle ms. Deletes the consumer only if it
 * holds no pending entry and has been idle that long; returns 1 if deleted.
 */
const DELETE_CONSUMER = `
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if not ok then return 0 end
for _, c in ipairs(consumers) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['name'] == ARGV[2] then
    if f['pending'] ~= 0 or f['idle'] < tonumber(ARGV[3]) then return 0 end
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
    return 1
  end
end
return 0
`;

/** registry: KEYS registry hash, version. Returns {version, hgetall…} read atomically. */
const REGISTRY = `
return {redis.call('GET', KEYS[2]) or '0', redis.call('HGETALL', KEYS[1])}
`;

/** One Lua script, run by sha with a fallback to its source when the server lost its script cache. */
export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /** Run on `conn`. NOSCRIPT means the script did not run, so falling back to EVAL is safe. */
  async run(conn: Redis, keys: readonly string[], args: readonly (string | Buffer | number)[]): Promise<unknown> {
    try {
      return await conn.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return conn.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}

/** The transport's scripts, compiled once per process. */
export const scripts = {
  send: new LuaScript(SEND),
  publish: new LuaScript(PUBLISH),
  ack: new LuaScript(ACK),
  nack: new LuaScript(NACK),
  move: new LuaScript(MOVE),
  provision: new LuaScript(PROVISION),
  registry: new LuaScript(REGISTRY),
  deleteConsumer: new LuaScript(DELETE_CONSUMER),
} as const;
