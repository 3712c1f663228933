import {
  type Delivery,
  type DeliveryHandler,
  ErrorCode,
  type NackOptions,
  type ReplyChannel,
  type ReplyChannels,
  settleOnce,
  type TransportMessage,
} from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import { checkSize, decodeEntry } from './codec.js';
import { isBusyGroup, wrapError } from './errors.js';
import { type RawEntry, readGroupEntries } from './replies.js';

/** Replies a reply stream keeps at most (approximate trimming); older unread ones are dropped first. */
export const REPLY_STREAM_MAXLEN = 10_000;

/** Entries read per XREAD; their handlers run together. */
const READ_COUNT = 100;

/** What {@link RedisReplyChannels} borrows from its transport. */
export interface RedisReplySettings {
  /** The transport's command connection (throws `SY_CLOSED` once the transport is closed). */
  readonly connection: () => Redis;
  /** Reply streams are `<prefix>:reply:<owner>`. */
  readonly prefix: string;
  readonly maxMessageBytes: number;
  /** Longest XREAD BLOCK; the expiry is refreshed at least every `expireAfterMs / 3` as well. */
  readonly blockMs: number;
}

/**
 * Reply channels on Redis Streams: one stream per instance,
 * `<prefix>:reply:<owner>`, read with plain XREAD (one reader, no consumer
 * group to keep) and trimmed up to the last handled entry after each batch.
 * The key carries a PEXPIRE of `expireAfterMs`, refreshed by the reading loop
 * at least every third of that, so Redis deletes the stream of an instance
 * that stopped reading (a crash): the cleanup needs nothing else. `close`
 * deletes it at once.
 *
 * `send` appends with `NOMKSTREAM` and `MAXLEN ~ 10000`: a reply to a stream
 * that is gone is dropped and `send` resolves; a stream nobody reads keeps
 * at most about 10,000 replies. Replies are as durable as the server's
 * persistence, which a reply does not need.
 *
 * `ack` has nothing to do (the batch is trimmed after its handlers ran);
 * `nack` appends the reply to the stream again (after `delayMs`, with the
 * delivery count one higher).
 */
export class RedisReplyChannels implements ReplyChannels {
  readonly #settings: RedisReplySettings;
  readonly #open = new Set<RedisReplyChannel>();

  constructor(settings: RedisReplySettings) {
    this.#settings = settings;
  }

  /** Creates the stream (empty), sets its expiry (`expireAfterMs`, a positive integer as core checks it) and starts reading. */
  async open(
    owner: string,
    handler: DeliveryHandler,
    options: { readonly expireAfterMs: number },
  ): Promise<ReplyChannel> {
    const { expireAfterMs } = options;
    const conn = this.#settings.connection();
    const key = `${this.#settings.prefix}:reply:${owner}`;
    const channel = new RedisReplyChannel(conn, key, handler, {
      expireAfterMs,
      blockMs: Math.max(1, Math.min(this.#settings.blockMs, Math.floor(expireAfterMs / 3))),
      onClosed: () => this.#open.delete(channel),
    });
    try {
      await channel.start();
    } catch (error) {
      await channel.stop();
      throw wrapError(error, ErrorCode.TransportUnavailable, `open reply stream '${key}' failed`);
    }
    this.#open.add(channel);
    return channel;
  }

  /** XADD with NOMKSTREAM: resolves without writing when the stream is gone; rejects with `SY_SEND_FAILED` otherwise. */
  async send(address: string, message: TransportMessage): Promise<void> {
    checkSize(message, this.#settings.maxMessageBytes);
    try {
      await append(this.#settings.connection(), address, message, 0);
    } catch (error) {
      throw wrapError(error, ErrorCode.SendFailed, `reply to '${address}' failed`);
    }
  }

  /** Stop reading every open channel without deleting its stream (the transport closes; expiry cleans up). */
  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.#open].map((channel) => channel.stop()));
  }
}

interface ChannelSettings {
  readonly expireAfterMs: number;
  readonly blockMs: number;
  readonly onClosed: () => void;
}

/** One reply stream and its reading loop on a connection of its own (XREAD BLOCK holds it). */
class RedisReplyChannel implements ReplyChannel {
  readonly address: string;
  readonly #conn: Redis;
  readonly #reader: Redis;
  readonly #handler: DeliveryHandler;
  readonly #settings: ChannelSettings;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(conn: Redis, key: string, handler: DeliveryHandler, settings: ChannelSettings) {
    this.address = key;
    this.#conn = conn;
    this.#reader = conn.duplicate({ lazyConnect: true, maxRetriesPerRequest: null });
    this.#reader.on('error', () => undefined);
    this.#handler = handler;
    this.#settings = settings;
  }

  async start(): Promise<void> {
    await this.#create();
    await this.#reader.connect();
    if (!this.#stopping) this.#loop = this.#run();
  }

  /** Stops reading and deletes the stream with what it holds. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.stop();
      try {
        await this.#conn.del(this.address);
      } catch (error) {
        throw wrapError(error, ErrorCode.TransportUnavailable, `delete reply stream '${this.address}' failed`);
      }
    })();
    return this.#closed;
  }

  /** Stops reading, leaving the stream to its expiry. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      // Interrupts a blocked XREAD; the loop sees #stopping and ends.
      this.#reader.disconnect();
      await this.#loop;
      this.#settings.onClosed();
    })();
    return this.#stopped;
  }

  /** An empty stream (XGROUP CREATE … MKSTREAM is the one command that makes one) with its expiry. */
  async #create(): Promise<void> {
    try {
      await this.#conn.xgroup('CREATE', this.address, 'replies', '$', 'MKSTREAM');
    } catch (error) {
      if (!isBusyGroup(error)) throw error;
    }
    await this.#conn.pexpire(this.address, this.#settings.expireAfterMs);
  }

  async #run(): Promise<void> {
    // From the start: a reply may land between creating the stream and the first read, and a re-attach reads what waited.
    let last = '0-0';
    let refreshedAt = Date.now();
    let failures = 0;
    while (!this.#stopping) {
      try {
        if (Date.now() - refreshedAt >= this.#settings.blockMs) {
          // Gone after an outage longer than the expiry: make it again, replies sent meanwhile were dropped.
          if ((await this.#conn.pexpire(this.address, this.#settings.expireAfterMs)) === 0) await this.#create();
          refreshedAt = Date.now();
        }
        const reply = await this.#reader.callBuffer('XREAD', [
          'COUNT',
          READ_COUNT,
          'BLOCK',
          this.#settings.blockMs,
          'STREAMS',
          this.address,
          last,
        ]);
        failures = 0;
        const entries = readGroupEntries(reply);
        const tail = entries[entries.length - 1];
        if (tail === undefined) continue;
        await Promise.all(entries.map((entry) => this.#deliver(entry)));
        last = tail.id;
        await this.#conn.xtrim(this.address, 'MINID', successor(tail.id));
      } catch {
        if (this.#stopping) break;
        // ioredis reconnects the reader by itself; pause so an outage is not a busy loop.
        failures++;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 20 * 2 ** Math.min(failures, 6))));
      }
    }
  }

  async #deliver(entry: RawEntry): Promise<void> {
    if (entry.fields === null) return;
    const { message, priorDeliveries } = decodeEntry(entry.id, entry.fields);
    const count = priorDeliveries + 1;
    const settle = settleOnce(
      async () => undefined,
      async (options?: NackOptions) => {
        const again = () => append(this.#conn, this.address, message, count);
        if (options?.delayMs) setTimeout(() => void again().catch(() => undefined), options.delayMs).unref();
        else await again();
      },
    );
    const delivery: Delivery = { message, channel: this.address, deliveryCount: count, ...settle };
    try {
      await this.#handler(delivery);
    } catch {
      await delivery.nack().catch(() => undefined);
    }
  }
}

/**
 * Appends `message` to the reply stream `key` unless the stream is gone (NOMKSTREAM), trimmed to about
 * {@link REPLY_STREAM_MAXLEN}; `prior` deliveries go in the `d` field that {@link decodeEntry} reads.
 */
function append(conn: Redis, key: string, message: TransportMessage, prior: number): Promise<unknown> {
  const body = Buffer.from(message.body.buffer, message.body.byteOffset, message.body.byteLength);
  const fields: Array<string | Buffer> = ['i', message.id, 'h', JSON.stringify(message.headers), 'b', body];
  if (prior > 0) fields.push('d', String(prior));
  return conn.xadd(key, 'NOMKSTREAM', 'MAXLEN', '~', REPLY_STREAM_MAXLEN, '*', ...fields);
}

/** The smallest stream id after `id` (`<ms>-<seq>`), for XTRIM MINID up to and including `id`. */
function successor(id: string): string {
  const dash = id.indexOf('-');
  return `${id.slice(0, dash)}-${BigInt(id.slice(dash + 1)) + 1n}`;
}
