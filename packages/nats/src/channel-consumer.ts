import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import {
  ConcurrencyGate,
  type DeliveryHandler,
  matchesPattern,
  type Subscription,
  type TransportMessage,
} from '@switchyard/core/transport';
import { fromNats, rawHeaderBlock } from './codec.js';
import type { Names } from './names.js';
import { NatsDelivery } from './nats-delivery.js';
import type { ResolvedOptions } from './options.js';
import { PullSource } from './pull-source.js';
import type { TopologyManager } from './topology.js';

/** A message this consumer holds: received and not yet settled. */
interface Held {
  readonly msg: JsMsg;
  /** The pull loop it came from: its room grows again when the message is settled. */
  readonly source: PullSource;
  /** Refreshes of the patterns started before this message arrived. */
  readonly generation: number;
  touchedAt: number;
  settled: boolean;
  /** The delivery, once the message was handed to the handler: later settles go through it. */
  delivery?: NatsDelivery;
}

/** What a {@link ChannelConsumer} needs from its transport. */
export interface ChannelConsumerParts {
  readonly channel: string;
  readonly names: Names;
  readonly topology: TopologyManager;
  readonly js: () => Promise<JetStreamClient>;
  readonly options: ResolvedOptions;
  readonly handler: DeliveryHandler;
  readonly concurrency: number;
  readonly prefetch: number;
  readonly onClosed: () => void;
  /**
   * Consume this durable consumer of a foreign stream instead of the channel's own consumers
   * (`consumeEndpoint`); `ensure` declares it (again, when it was deleted behind our back).
   */
  readonly endpoint?: { readonly stream: string; readonly consumer: string; readonly ensure: () => Promise<void> };
}

/**
 * Consumes one channel: the durable pull consumer of its own subject and,
 * when it subscribes to events, the durable pull consumer of its event filter.
 *
 * - Each source holds (received and not yet settled) or has asked for at most
 *   `prefetch` messages: a new pull request asks for the room left once a
 *   quarter of the prefetch is free, up to 4 requests open at once; at most
 *   `concurrency` handlers run at once over both sources.
 * - Every held message is reported in progress (`+WPI`) every `ackWaitMs / 3`,
 *   so a long handler keeps its message; one held by a process that died goes
 *   to another consumer after `ackWaitMs`.
 * - A message whose `deliverAt` lies ahead is put back with `nak(delay)`
 *   without reaching the handler (the broker holds it, other messages go on).
 * - An event the single filter subject admitted but none of the channel's
 *   patterns matches (see `coverFilter`) is acknowledged without reaching the
 *   handler, once the patterns are known to be at least as new as the delivery.
 * - Pull requests that die with the connection end by their heartbeat or
 *   expiry, and the loop asks again once the client has reconnected.
 */
export class ChannelConsumer implements Subscription {
  readonly #parts: ChannelConsumerParts;
  readonly #gate: ConcurrencyGate;
  readonly #held = new Set<Held>();
  readonly #sources = new Map<string, PullSource>();
  #patterns: readonly string[] = [];
  /** Refreshes started so far, and the number of the one whose patterns are in use. */
  #refreshesStarted = 0;
  #patternsGeneration = 0;
  #refreshing: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];
  #closing: Promise<void> | undefined;
  #stopped = false;

  constructor(parts: ChannelConsumerParts) {
    this.#parts = parts;
    this.#gate = new ConcurrencyGate(parts.concurrency);
  }

  /** The channel consumed. */
  get channel(): string {
    return this.#parts.channel;
  }

  /** Attach: make sure the channel (or the endpoint's consumer) exists, read its subscriptions, start pulling. */
  async start(): Promise<void> {
    const { topology, channel, names, options, endpoint } = this.#parts;
    if (endpoint) {
      await endpoint.ensure();
      this.#startSource(endpoint.consumer, false, endpoint.stream);
    } else {
      await topology.ensureChannel(channel);
      this.#startSource(names.commandConsumer(channel), false, names.stream);
      await this.refresh();
      this.#timers.push(setInterval(() => void this.refresh().catch(() => {}), options.refreshMs));
    }
    const beat = Math.max(200, Math.floor(options.ackWaitMs / 3));
    this.#timers.push(setInterval(() => this.#heartbeat(beat), beat));
    for (const timer of this.#timers) timer.unref();
  }

  /** Re-read the channel's event subscription: start, narrow or stop its source. Coalesced. */
  refresh(): Promise<void> {
    // An endpoint consumer has no subscriptions to re-read.
    if (this.#parts.endpoint) return Promise.resolve();
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const generation = ++this.#refreshesStarted;
    const subscription = await this.#parts.topology.eventSubscription(this.#parts.channel);
    this.#patterns = subscription?.patterns ?? [];
    this.#patternsGeneration = generation;
    const name = this.#parts.names.eventConsumer(this.#parts.channel);
    if (this.#stopped) return;
    if (subscription && !this.#sources.has(name)) this.#startSource(name, true, this.#parts.names.stream);
    if (!subscription) this.#stopSource(name);
  }

  #startSource(name: string, events: boolean, stream: string): void {
    const { js, options, prefetch, endpoint } = this.#parts;
    const source = new PullSource({
      name,
      events,
      stream,
      prefetch,
      pullExpiresMs: options.pullExpiresMs,
      js,
      onMessage: (from, msg) => this.#receive(from, msg),
      onMissing: async (from) => {
        if (endpoint) await endpoint.ensure();
        else if (from.events) await this.refresh();
        else {
          this.#parts.topology.forget();
          await this.#parts.topology.ensureChannel(this.#parts.channel);
        }
      },
    });
    this.#sources.set(name, source);
  }

  #stopSource(name: string): void {
    this.#sources.get(name)?.stop();
    this.#sources.delete(name);
  }

  #receive(source: PullSource, msg: JsMsg): void {
    const now = Date.now();
    const held: Held = { msg, source, generation: this.#refreshesStarted, touchedAt: now, settled: false };
    this.#held.add(held);
    let message = fromNats(rawHeaderBlock(msg) ?? msg.headers, msg.data);
    // A foreign message without any id: its producer's Nats-Msg-Id, else its place in the stream (stable across redeliveries).
    if (message.id === '') {
      message = { ...message, id: msg.headers?.get('Nats-Msg-Id') || `nats:${msg.info.stream}/${msg.seq}` };
    }
    if (message.deliverAt !== undefined && message.deliverAt > now + 5) {
      this.#settleRaw(held, () => msg.nak(message.deliverAt! - now));
      return;
    }
    if (source.events) {
      const routingKey = this.#parts.names.routingKeyOf(msg.subject) ?? '';
      if (!this.#matches(routingKey)) {
        void this.#dropUnmatched(held, message, routingKey);
        return;
      }
    }
    void this.#dispatch(held, message);
  }

  #matches(routingKey: string): boolean {
    return this.#patterns.some((pattern) => matchesPattern(pattern, routingKey));
  }

  /** Acknowledge an event none of the patterns matches, after making sure the patterns are not older than it. */
  async #dropUnmatched(held: Held, message: TransportMessage, routingKey: string): Promise<void> {
    // A refresh already under way may have read the patterns before this message was filtered: wait for a newer one.
    for (let tries = 0; tries < 3 && this.#patternsGeneration <= held.generation; tries++) {
      await this.refresh().catch(() => {});
    }
    if (this.#patternsGeneration > held.generation && !this.#matches(routingKey)) {
      this.#settleRaw(held, () => held.msg.ack());
      return;
    }
    await this.#dispatch(held, message);
  }

  async #dispatch(held: Held, message: TransportMessage): Promise<void> {
    await this.#gate.acquire();
    try {
      if (this.#stopped || held.settled) {
        this.#settleRaw(held, () => held.msg.nak());
        return;
      }
      const delivery = new NatsDelivery(held.msg, message, this.#parts.channel, () => this.#settled(held));
      held.delivery = delivery;
      try {
        await this.#parts.handler(delivery);
      } catch {
        await delivery.nack().catch(() => {});
      }
    } finally {
      this.#gate.release();
    }
  }

  /** Settle a message the handler never saw. */
  #settleRaw(held: Held, settle: () => void): void {
    if (held.settled) return;
    try {
      settle();
    } catch {
      // The connection is gone: the broker redelivers after the ack wait.
    }
    this.#settled(held);
  }

  /** A message is through: settled by the handler, or without it. Only then is there room for another (prefetch bounds unsettled messages). */
  #settled(held: Held): void {
    held.settled = true;
    this.#held.delete(held);
    held.source.release();
  }

  /** Report every held message older than `every` in progress, so the broker does not redeliver it. */
  #heartbeat(every: number): void {
    const now = Date.now();
    for (const held of this.#held) {
      if (held.settled || now - held.touchedAt < every) continue;
      held.touchedAt = now;
      try {
        held.msg.working();
      } catch {
        // Disconnected: nothing to tell; the ack wait decides.
      }
    }
  }

  close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.drainTimeoutMs ?? 30_000);
    return this.#closing;
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    this.#stopped = true;
    for (const name of [...this.#sources.keys()]) this.#stopSource(name);
    await this.#gate.drain(drainTimeoutMs);
    // Whatever is still unsettled goes back now, not after the ack wait.
    for (const held of [...this.#held]) {
      if (held.delivery) await held.delivery.nack().catch(() => {});
      else this.#settleRaw(held, () => held.msg.nak());
    }
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#parts.onClosed();
  }
}
