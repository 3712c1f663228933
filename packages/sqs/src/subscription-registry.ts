import { compilePattern, type PatternMatcher } from '@switchyard/core/transport';

/**
 * Which channels subscribe to which event patterns, for the direct fan-out
 * mode (no SNS). `provision` writes a channel's patterns here; `publish`
 * reads them to pick the queues an event goes to.
 *
 * It lives in memory. Share one instance between the transports of one
 * process (option `registry`), or fill it from the service map at startup
 * with {@link SubscriptionRegistry.set} so that a publisher knows the
 * subscribers of other processes: a subscriber this process never heard of
 * does not receive the event. That is the limit of the direct mode.
 */
export class SubscriptionRegistry {
  readonly #channels = new Map<string, { patterns: readonly string[]; matchers: PatternMatcher[] }>();

  /** Replace `channel`'s patterns (an empty list removes it). Throws a ConfigurationError for an invalid pattern. */
  set(channel: string, patterns: readonly string[]): void {
    if (patterns.length === 0) {
      this.#channels.delete(channel);
      return;
    }
    const matchers = patterns.map((p) => compilePattern(p));
    this.#channels.set(channel, { patterns: [...patterns], matchers });
  }

  /** The patterns of `channel`, or an empty list. */
  patterns(channel: string): readonly string[] {
    return this.#channels.get(channel)?.patterns ?? [];
  }

  /** Channels with at least one pattern matching `routingKey` (AMQP semantics, exact), in registration order. */
  channelsFor(routingKey: string): string[] {
    const found: string[] = [];
    for (const [channel, entry] of this.#channels) {
      if (entry.matchers.some((match) => match(routingKey))) found.push(channel);
    }
    return found;
  }
}
