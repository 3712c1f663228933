import { ConfigurationError } from '../errors.js';
import { compilePattern, type PatternMatcher } from '../routing/pattern.js';
import type { RoutedMessage, Topology, TransportMessage } from '../transport/types.js';
import { type Clock, systemClock } from '../util/clock.js';
import { MemoryChannel } from './channel.js';

/** Options for {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Clock that holds delayed messages until due (default `systemClock`); a manual clock fires them instantly. */
  readonly clock?: Clock;
}

/** Counts for one channel, for tests and the topology view. */
export interface MemoryChannelStats {
  /** Messages ready for delivery. */
  readonly ready: number;
  /** Messages held until a future due time. */
  readonly delayed: number;
  /** Messages taken by a consumer and not settled yet. */
  readonly inFlight: number;
  /** Consumers attached. */
  readonly consumers: number;
  /** Event patterns the channel subscribes to. */
  readonly subscriptions: readonly string[];
}

interface ChannelSubscriptions {
  readonly patterns: readonly string[];
  readonly matchers: readonly PatternMatcher[];
}

const MAX_ROUTE_CACHE = 10_000;

/**
 * The state of an in-memory broker: channels, their event subscriptions, and
 * the messages waiting in them. Several {@link MemoryTransport}s attached to
 * one broker behave like several processes connected to one broker: consumers
 * of the same channel compete for its messages, and published events fan out
 * to every channel whose patterns match. Nothing survives the process.
 *
 * A broker is never closed: it holds no resources but its messages and the
 * clock timers of delayed ones (unref'd under the system clock).
 */
export class MemoryBroker {
  /** The clock that holds delayed messages. */
  readonly clock: Clock;
  readonly #channels = new Map<string, MemoryChannel>();
  readonly #subscriptions = new Map<string, ChannelSubscriptions>();
  // Fan-out targets per routing key; cleared whenever subscriptions change.
  readonly #routes = new Map<string, MemoryChannel[]>();

  constructor(options: MemoryBrokerOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /** The named channel, created on first use (sending to an unknown channel never drops). @internal */
  channel(name: string): MemoryChannel {
    let channel = this.#channels.get(name);
    if (channel === undefined) {
      if (name.length === 0) throw new ConfigurationError('a channel name must not be empty');
      channel = new MemoryChannel(name, this.clock);
      this.#channels.set(name, channel);
    }
    return channel;
  }

  /**
   * Create the channels and set each one's subscriptions to exactly the listed
   * patterns. Idempotent; validates every pattern before changing anything and
   * throws a ConfigurationError for an invalid one. Channels not listed keep theirs.
   */
  provision(topology: Topology): void {
    const compiled = topology.channels.map((channel) => ({
      name: channel.name,
      patterns: [...new Set(channel.subscriptions)],
      matchers: [...new Set(channel.subscriptions)].map(compilePattern),
    }));
    for (const { name, patterns, matchers } of compiled) {
      this.channel(name);
      if (patterns.length === 0) this.#subscriptions.delete(name);
      else this.#subscriptions.set(name, { patterns, matchers });
    }
    this.#routes.clear();
  }

  /**
   * Append `messages` to `channel` in order; those with a future `deliverAt`
   * wait until then, unless `holdDelayed` is false (emulated delay: deliver at once).
   */
  send(channel: string, messages: readonly TransportMessage[], holdDelayed = true): void {
    const target = this.channel(channel);
    for (const message of messages) {
      target.enqueue({ message, deliveries: 0 }, false, holdDelayed ? message.deliverAt : undefined);
    }
  }

  /**
   * Append each message to every channel with a matching subscription (once per
   * channel). With `filter` false, every channel with any subscription gets every
   * event (client-side filtering: core drops what does not match).
   */
  publish(messages: readonly RoutedMessage[], holdDelayed = true, filter = true): void {
    for (const message of messages) {
      const targets = filter ? this.#route(message.routingKey) : this.#subscribed();
      for (const target of targets) {
        target.enqueue({ message, deliveries: 0 }, false, holdDelayed ? message.deliverAt : undefined);
      }
    }
  }

  /** Counts for `channel`, or undefined when it does not exist. */
  stats(channel: string): MemoryChannelStats | undefined {
    const found = this.#channels.get(channel);
    if (found === undefined) return undefined;
    return {
      ready: found.ready,
      delayed: found.delayed,
      inFlight: found.inFlight,
      consumers: found.consumers,
      subscriptions: this.#subscriptions.get(channel)?.patterns ?? [],
    };
  }

  /** Delete `channel` with every message it holds (reply channels that closed or expired). Consumers must have detached. @internal */
  remove(channel: string): void {
    if (this.#channels.delete(channel) && this.#subscriptions.delete(channel)) this.#routes.clear();
  }

  /** Names of every channel that exists. */
  channels(): string[] {
    return [...this.#channels.keys()];
  }

  #subscribed(): MemoryChannel[] {
    return [...this.#subscriptions.keys()].map((name) => this.channel(name));
  }

  #route(routingKey: string): MemoryChannel[] {
    let targets = this.#routes.get(routingKey);
    if (targets !== undefined) return targets;
    targets = [];
    for (const [name, subscriptions] of this.#subscriptions) {
      if (subscriptions.matchers.some((matches) => matches(routingKey))) targets.push(this.channel(name));
    }
    if (this.#routes.size >= MAX_ROUTE_CACHE) this.#routes.clear();
    this.#routes.set(routingKey, targets);
    return targets;
  }
}
