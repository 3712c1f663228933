import { randomBytes } from 'node:crypto';
import { messageSize, type RoutedMessage, SendBatcher, type TransportMessage } from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import { type Keys, packMessages } from './codec.js';
import { scripts } from './scripts.js';

/** What the sender needs from its transport. */
export interface BatchedSenderSetup {
  readonly connection: () => Redis;
  readonly keys: Keys;
  /** Marker TTL in ms; 0 turns the marker off. */
  readonly dedupTtlMs: number;
  /** Most messages per script call. */
  readonly maxBatch: number;
  readonly maxMessageBytes: number;
  /** Publishes one batch of events (at most `maxBatch`) in one script call with its own marker. */
  readonly publishBatch: (messages: RoutedMessage[]) => Promise<void>;
}

/**
 * Message bytes per script call, at most (one larger message still goes alone): keeps a batch of big
 * messages far below Redis' 512 MB argument limit and the server's time in one script short.
 */
const MAX_CALL_BYTES = 8 * 1024 * 1024;

/**
 * Merges concurrent sends (core sends one message per call) into one send
 * script call per channel per event-loop turn, through core's
 * {@link SendBatcher} (one per channel, kept for the transport's life), and
 * concurrent publishes (core publishes one event per call) into one publish
 * script call per turn.
 *
 * Guarantees: a `send` resolves once Redis executed every script call that
 * carried its messages, in the order given; it rejects with the driver's
 * error otherwise (its messages may or may not be stored). Callers check
 * message sizes first (`checkSize`), so packing a batch never fails one
 * sender for another's message. Each script call carries its own marker key,
 * so a call that ioredis re-sends after a reconnect is appended once: one
 * marker per batch, not per message.
 */
export class BatchedSender {
  readonly #s: BatchedSenderSetup;
  readonly #batchers = new Map<string, SendBatcher<TransportMessage>>();
  #publisher: SendBatcher<RoutedMessage> | undefined;
  readonly #ttl: string;
  readonly #tokenBase = randomBytes(8).toString('hex');
  #seq = 0;
  /** Flushes running; counted here (not per send) so that a send costs no extra promise. */
  #flushing = 0;
  #flushEnded: Array<() => void> = [];

  constructor(setup: BatchedSenderSetup) {
    this.#s = setup;
    this.#ttl = String(setup.dedupTtlMs);
  }

  /** Append `messages` (each within the size limit) to `channel`'s stream, in order. */
  send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    let batcher = this.#batchers.get(channel);
    if (batcher === undefined) {
      batcher = new SendBatcher((items) => this.#flush(channel, items), { maxBatch: this.#s.maxBatch });
      this.#batchers.set(channel, batcher);
    }
    return batcher.submit(messages);
  }

  /** Fan `messages` (each within the size limit) out as `publishBatch` does, batched with concurrent publishes. */
  publish(messages: readonly RoutedMessage[]): Promise<void> {
    this.#publisher ??= new SendBatcher((items) => this.#tracked(() => this.#s.publishBatch(items)), {
      maxBatch: this.#s.maxBatch,
    });
    return this.#publisher.submit(messages);
  }

  /** Resolves when no send is queued or in flight (close waits for them before quitting the connection). */
  async idle(): Promise<void> {
    for (;;) {
      let busy = this.#flushing > 0;
      for (const batcher of this.#batchers.values()) if (batcher.waiting > 0) busy = true;
      if (this.#publisher !== undefined && this.#publisher.waiting > 0) busy = true;
      // A waiting submission always has a flush scheduled or running, so a flush end follows.
      if (!busy) return;
      await new Promise<void>((resolve) => this.#flushEnded.push(resolve));
    }
  }

  /** One batch of one channel: script calls of up to MAX_CALL_BYTES, issued back to back. */
  #flush(channel: string, items: TransportMessage[]): Promise<void> {
    return this.#tracked(() => this.#flushCalls(channel, items));
  }

  async #tracked(flush: () => Promise<void>): Promise<void> {
    this.#flushing++;
    try {
      await flush();
    } finally {
      this.#flushing--;
      if (this.#flushEnded.length > 0) for (const resolve of this.#flushEnded.splice(0)) resolve();
    }
  }

  async #flushCalls(channel: string, items: TransportMessage[]): Promise<void> {
    const conn = this.#s.connection();
    const calls: Promise<unknown>[] = [];
    let start = 0;
    let bytes = 0;
    for (let i = 0; i < items.length; i++) {
      const size = messageSize(items[i]!);
      if (i > start && bytes + size > MAX_CALL_BYTES) {
        calls.push(this.#call(conn, channel, items.slice(start, i)));
        start = i;
        bytes = 0;
      }
      bytes += size;
    }
    calls.push(this.#call(conn, channel, start === 0 ? items : items.slice(start)));
    // Issued on one connection in this order, so Redis applies them in order.
    await Promise.all(calls);
  }

  #call(conn: Redis, channel: string, messages: TransportMessage[]): Promise<unknown> {
    const keys = this.#s.keys;
    const packed = packMessages(messages, this.#s.maxMessageBytes);
    return scripts.send.run(
      conn,
      [keys.sent(this.#token()), keys.stream(channel), keys.delay(channel)],
      [this.#ttl, packed],
    );
  }

  #token(): string {
    this.#seq++;
    return `${this.#tokenBase}:${this.#seq.toString(36)}`;
  }
}
