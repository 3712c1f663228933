import { ConfigurationError } from '../errors.js';
import type {
  ConsumeOptions,
  DeliveryHandler,
  ReplyChannel,
  ReplyChannels,
  Subscription,
  TransportMessage,
} from './types.js';

/**
 * Where a broker without native expiring queues (a database, the in-memory
 * broker) keeps its reply channels: one entry per channel with the time it
 * was last seen alive and its expiry. Methods may be called concurrently;
 * each is idempotent.
 */
export interface ReplyChannelBook {
  /** Remove every channel not seen alive for longer than its expiry, together with the messages it holds. */
  sweep(now: number): Promise<void>;
  /** Record `channel` as alive at `now` (creating its entry); rejects once the transport is closed. */
  touch(channel: string, expireAfterMs: number, now: number): Promise<void>;
  /** Append `message` to `channel` if the channel is in the book; otherwise drop it and resolve. */
  deliver(channel: string, message: TransportMessage): Promise<void>;
  /** Remove `channel`'s entry and every message it holds. */
  remove(channel: string): Promise<void>;
}

/** The part of a transport that consumes a reply channel like any channel. */
export interface ReplyChannelHost {
  consume(channel: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Subscription>;
}

/** Options of {@link BookedReplyChannels}. */
export interface BookedReplyChannelsOptions {
  /** Prefix of reply channel names (default `sy.reply.`); the owner follows it. */
  readonly prefix?: string;
  /** Replies handled at once per channel (default 32; the caller's handler only matches and acks). */
  readonly concurrency?: number;
}

/**
 * {@link ReplyChannels} over a transport's ordinary channels and a
 * {@link ReplyChannelBook}: the channel of owner `o` is `<prefix>o`, its
 * address is that name. `open` first sweeps expired channels (the cleanup
 * after crashed instances), records the channel, consumes it, and refreshes
 * its entry every third of `expireAfterMs` while open; the refresh stops for
 * good when the book refuses it (the transport closed, as in a crash), so the
 * channel then expires. `close` stops consuming and removes the channel with
 * what it holds. `send` appends only to a channel in the book: a reply to a
 * channel that was closed or swept is dropped.
 */
export class BookedReplyChannels implements ReplyChannels {
  readonly #host: ReplyChannelHost;
  readonly #book: ReplyChannelBook;
  readonly #prefix: string;
  readonly #concurrency: number;

  constructor(host: ReplyChannelHost, book: ReplyChannelBook, options: BookedReplyChannelsOptions = {}) {
    this.#host = host;
    this.#book = book;
    this.#prefix = options.prefix ?? 'sy.reply.';
    this.#concurrency = options.concurrency ?? 32;
  }

  async open(owner: string, handler: DeliveryHandler, options: { expireAfterMs: number }): Promise<ReplyChannel> {
    const { expireAfterMs } = options;
    if (!Number.isFinite(expireAfterMs) || expireAfterMs <= 0) {
      throw new ConfigurationError(`expireAfterMs must be a positive number, got ${expireAfterMs}`);
    }
    if (typeof owner !== 'string' || owner.length === 0) throw new ConfigurationError('a reply channel needs an owner');
    const channel = `${this.#prefix}${owner}`;
    const now = Date.now();
    await this.#book.sweep(now);
    await this.#book.touch(channel, expireAfterMs, now);
    const subscription = await this.#host.consume(channel, handler, { concurrency: this.#concurrency });
    const timer = setInterval(
      () => {
        this.#book.touch(channel, expireAfterMs, Date.now()).catch(() => clearInterval(timer));
      },
      Math.max(10, Math.floor(expireAfterMs / 3)),
    );
    timer.unref();
    let closing: Promise<void> | undefined;
    return {
      address: channel,
      close: () => {
        closing ??= (async () => {
          clearInterval(timer);
          await subscription.close({ drainTimeoutMs: 1_000 });
          await this.#book.remove(channel);
        })();
        return closing;
      },
    };
  }

  send(address: string, message: TransportMessage): Promise<void> {
    return this.#book.deliver(address, message);
  }
}
