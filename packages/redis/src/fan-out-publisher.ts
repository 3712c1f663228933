import { randomBytes } from 'node:crypto';
import { ErrorCode, type RoutedMessage, TransportError } from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import { type Keys, packMessages } from './codec.js';
import type { SubscriptionRegistry } from './registry.js';
import { scripts } from './scripts.js';

/** Script calls refused for a stale registry version before a publish gives up. */
const STALE_REGISTRY_RETRIES = 20;

/** What the publisher needs from its transport. */
export interface FanOutPublisherSetup {
  readonly keys: Keys;
  /** The transport's registry; its cache is reloaded when the script refuses a stale version. */
  readonly registry: SubscriptionRegistry;
  /** Marker TTL in ms; 0 turns the marker off. */
  readonly dedupTtlMs: number;
  readonly maxMessageBytes: number;
}

/**
 * Fans one batch of events out to the streams of their subscribers in one
 * publish script call, atomically: the targets of each routing key come from
 * the cached {@link SubscriptionRegistry} snapshot, and the script appends
 * nothing when the registry's version moved on since; the snapshot is then
 * reloaded and the call made again, at most 20 times.
 *
 * Guarantees: `publish` resolves once Redis executed the call that appended
 * every message to each of its targets (a message that matches no
 * subscription goes nowhere). It rejects with `SY_SEND_FAILED` when the
 * registry kept changing (nothing appended), or with the driver's error (the
 * messages may or may not be stored). Each call carries its own marker key
 * (one token per batch, kept across the retries), so a call that ioredis
 * re-sends after a reconnect is appended once.
 * Callers check message sizes and batch concurrent publishes (BatchedSender).
 * Holds no connection and nothing to close.
 */
export class FanOutPublisher {
  readonly #s: FanOutPublisherSetup;
  readonly #ttl: string;
  readonly #tokenBase = randomBytes(8).toString('hex');
  #seq = 0;

  constructor(setup: FanOutPublisherSetup) {
    this.#s = setup;
    this.#ttl = String(setup.dedupTtlMs);
  }

  /** Append each of `messages` (each within the size limit) to the streams that subscribed to its routing key. */
  async publish(conn: Redis, messages: readonly RoutedMessage[]): Promise<void> {
    const { keys: names, registry } = this.#s;
    const token = this.#token();
    let snapshot = await registry.current(conn);
    for (let attempt = 0; attempt < STALE_REGISTRY_RETRIES; attempt++) {
      const keys = [names.sent(token), names.subsVersion];
      const index = new Map<string, number>();
      const targets = messages.map((message) =>
        snapshot.targets(message.routingKey).map((channel) => {
          let n = index.get(channel);
          if (n === undefined) {
            n = index.size + 1;
            index.set(channel, n);
            keys.push(names.stream(channel), names.delay(channel));
          }
          return n;
        }),
      );
      const packed = packMessages(messages, this.#s.maxMessageBytes, targets);
      const result = await scripts.publish.run(conn, keys, [this.#ttl, snapshot.version, packed]);
      if (result !== -1) return;
      snapshot = await registry.reload(conn);
    }
    throw new TransportError(ErrorCode.SendFailed, 'publish failed: the subscription registry kept changing');
  }

  #token(): string {
    this.#seq++;
    return `${this.#tokenBase}:${this.#seq.toString(36)}`;
  }
}
