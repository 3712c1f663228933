import { ConfigurationError, ErrorCode, TransportError } from '../errors.js';
import { messageSize } from '../message/codec.js';
import type { ClaimingSettings } from './claiming-consumer.js';
import { consumeLimits } from './consume-options.js';
import type { ConsumeOptions, Subscription, TransportMessage } from './types.js';

/**
 * The transport side shared by the table-backed queues (SQLite, PostgreSQL): checks done before
 * any row is written, the settings of a {@link ClaimingConsumer}, and the set of open consumers
 * that the transport's `close` stops. Each transport keeps only its SQL and its driver.
 */

/** Throws a ConfigurationError unless `channel` is a non-empty string. Pure. */
export function checkChannel(channel: string): void {
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new ConfigurationError(`a channel name must be a non-empty string, got ${JSON.stringify(channel)}`);
  }
}

/**
 * The headers of `message` as the JSON object a table stores (read back by
 * {@link parseStoredHeaders}), once its body is known to be bytes within `maxBytes`. Throws a
 * TransportError: `SY_SEND_FAILED` for a body that is not a Uint8Array, `SY_TOO_LARGE` when
 * {@link messageSize} exceeds `maxBytes` (the message names `transport`, e.g. `'SQLite'`).
 */
export function storedHeaders(message: TransportMessage, maxBytes: number, transport: string): string {
  if (!(message.body instanceof Uint8Array)) {
    throw new TransportError(ErrorCode.SendFailed, `message '${message.id}' has a body that is not a Uint8Array`);
  }
  const size = messageSize(message);
  if (size > maxBytes) {
    throw new TransportError(
      ErrorCode.TooLarge,
      `message '${message.id}' is ${size} bytes, over the ${transport} transport's limit of ${maxBytes}`,
    );
  }
  return JSON.stringify(message.headers);
}

/**
 * {@link consumeLimits} for a claiming consumer: `prefetch` defaults to the transport's
 * configured one, else to `max(concurrency, 64)`, and is raised to `concurrency` (a slot never
 * waits for a claim). Throws a ConfigurationError like {@link consumeLimits}. Pure.
 */
export function claimingSettings(
  options: ConsumeOptions,
  configuredPrefetch: number | undefined,
  durableAck: boolean,
): ClaimingSettings {
  const { concurrency, prefetch } = consumeLimits(
    options,
    (concurrency) => configuredPrefetch ?? Math.max(concurrency, 64),
  );
  return { concurrency, prefetch: Math.max(prefetch, concurrency), durableAck };
}

/**
 * The open consumers of one transport. {@link add} returns the subscription handed to the caller:
 * closing it closes the consumer and forgets it. {@link closeAll} closes every one still open
 * (a transport's `close`); both are safe to call more than once, as a consumer's close is idempotent.
 */
export class OpenConsumers {
  readonly #consumers = new Set<Subscription>();

  /** Track `consumer` until it is closed through the returned subscription or {@link closeAll}. */
  add(consumer: Subscription): Subscription {
    this.#consumers.add(consumer);
    return {
      close: async (options) => {
        await consumer.close(options);
        this.#consumers.delete(consumer);
      },
    };
  }

  /** Close every open consumer with its default drain, and forget them; resolves when all are closed. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#consumers].map((consumer) => consumer.close()));
    this.#consumers.clear();
  }
}
