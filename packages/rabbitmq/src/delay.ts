import { ErrorCode, TransportError } from '@switchyard/core/transport';
import type { ChannelModel } from 'amqplib';
import type { ConnectionManager } from './connection-manager.js';
import { withChannel } from './ops-channel.js';
import { InternalHeader } from './wire.js';

/** Where a delayed message goes when due: straight to a queue, or through the topic exchange. */
export type DelayRoute = 'direct' | 'event';

/** Longest delay RabbitMQ's per-queue TTL can hold (2^31 - 1 ms, about 24.8 days). */
export const MAX_DELAY_MS = 2 ** 31 - 1;

/** A declared delay queue is declared again after this long, which restarts its `x-expires` clock. */
const REFRESH_MS = 30_000;

/**
 * The delay queue bucket for `delayMs`: rounded up (never early) to 1/16 of
 * its power of two, so at most ~6% late and about 16 queues per doubling of
 * the delay instead of one per distinct millisecond value.
 */
export function delayBucket(delayMs: number): number {
  const ms = Math.max(1, Math.ceil(delayMs));
  const step = Math.max(1, 2 ** (Math.floor(Math.log2(ms)) - 4));
  return Math.min(MAX_DELAY_MS, Math.ceil(ms / step) * step);
}

/**
 * Delayed delivery without plugins. A delayed message is published to the
 * headers exchange `<exchange>.delay` with its final routing key and the
 * headers `sy-delay` (bucket) and `sy-route`; that exchange routes it to the
 * queue `<exchange>.delay.<route>.<bucket>`, whose `x-message-ttl` is the
 * bucket and whose dead-letter exchange is the default exchange (`direct`:
 * routing key = target queue) or the topic exchange (`event`: routing key =
 * event name). Every message in one delay queue has the same TTL, so the head
 * always expires first and none waits behind a longer one.
 *
 * Delay queues carry `x-expires` (twice the TTL plus a minute) so unused ones
 * vanish; publishers declare them again every 30 s while in use, which keeps a
 * queue alive longer than any message it holds.
 */
export class DelayQueues {
  readonly #connection: ConnectionManager;
  readonly #exchange: string;
  readonly #timeoutMs: number;
  readonly #declared = new Map<string, { at: number; ready: Promise<void> }>();

  constructor(connection: ConnectionManager, exchange: string, timeoutMs: number) {
    this.#connection = connection;
    this.#exchange = exchange;
    this.#timeoutMs = timeoutMs;
  }

  /** Name of the headers exchange delayed messages are published to. */
  get exchange(): string {
    return delayExchangeName(this.#exchange);
  }

  /** Headers that route a message into the delay queue of `bucket`. */
  headers(route: DelayRoute, bucket: number): Record<string, string> {
    return { [InternalHeader.delay]: String(bucket), [InternalHeader.route]: route };
  }

  /** Declare (or refresh) the delay queue of `bucket` for `route`. Concurrent calls share one declaration. */
  ensure(route: DelayRoute, bucket: number): Promise<void> {
    if (bucket > MAX_DELAY_MS) {
      return Promise.reject(
        new TransportError(ErrorCode.SendFailed, `RabbitMQ cannot delay a message by more than ${MAX_DELAY_MS} ms`),
      );
    }
    const name = `${this.#exchange}.delay.${route}.${bucket}`;
    const known = this.#declared.get(name);
    if (known && Date.now() - known.at < REFRESH_MS) return known.ready;
    const ready = this.#declare(name, route, bucket).catch((error: unknown) => {
      this.#declared.delete(name);
      throw error;
    });
    this.#declared.set(name, { at: Date.now(), ready });
    return ready;
  }

  /** Forget every declaration (a delayed message came back unroutable: a queue expired or was deleted). */
  forgetAll(): void {
    this.#declared.clear();
  }

  #declare(name: string, route: DelayRoute, bucket: number): Promise<void> {
    return withChannel(this.#connection, this.#timeoutMs, `declare delay queue '${name}'`, async (channel) => {
      await channel.assertQueue(name, {
        durable: true,
        arguments: {
          'x-message-ttl': bucket,
          'x-dead-letter-exchange': route === 'direct' ? '' : this.#exchange,
          'x-expires': Math.min(2 * bucket + 60_000, 2 ** 32 - 1),
        },
      });
      await channel.bindQueue(name, this.exchange, '', { 'x-match': 'all', ...this.headers(route, bucket) });
    });
  }
}

/** Name of the headers exchange for delayed messages. */
export function delayExchangeName(exchange: string): string {
  return `${exchange}.delay`;
}

/** Declare the exchanges every connection needs; runs on each (re)connect. */
export async function declareExchanges(model: ChannelModel, exchange: string): Promise<void> {
  const channel = await model.createChannel();
  channel.on('error', () => undefined);
  try {
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertExchange(delayExchangeName(exchange), 'headers', { durable: true });
  } finally {
    await channel.close().catch(() => undefined);
  }
}
