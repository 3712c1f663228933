import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import {
  ConcurrencyGate,
  type Delivery,
  type DeliveryHandler,
  matchesPattern,
  type Subscription,
  settleOnce,
  type TransportMessage,
} from '@switchyard/core/transport';
import { fromNats } from './codec.js';
import { ApiCode, isApiError } from './errors.js';
import type { Names } from './names.js';
import type { ResolvedOptions } from './options.js';
import type { TopologyManager } from './topology.js';

/** A message this consumer holds: received and not yet settled. */
interface Held {
  readonly msg: JsMsg;
  /** Refreshes of the patterns started before this message arrived. */
  readonly generation: number;
  touchedAt: number;
  settled: boolean;
  /** Settles through the delivery's settle-once guard, once the message was handed to the handler. */
  nack?: () => Promise<void>;
}

/** One durable JetStream consumer pulled by this channel consumer. */
interface Source {
  readonly name: string;
  readonly events: boolean;
  consumer: Consumer | undefined;
  /** Received by this source and not yet through the handler. */
  held: number;
  /** Asked for by open pull requests and not yet received. */
  requested: number;
  /** Pull requests open. */
  fetching: number;
  failures: number;
  backoffUntil: number;
  stopped: boolean;
  readonly iterators: Set<{ stop(): void }>;
  wake: (() => void) | undefined;
  loop: Promise<void> | undefined;
}

/** Pull requests a source keeps open at once. */
const MAX_OPEN_PULLS = 4;

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
}

/**
 * Consumes one channel: the durable pull consumer of its own subject and,
 * when it subscribes to events, the durable pull consumer of its event filter.
 *
 * - Each source holds or has asked for at most `prefetch` messages: a new
 *   pull request asks for the room left once a quarter of the prefetch is
 *   free, up to 4 requests open at once; at most `concurrency` handlers run
 *   at once over both sources.
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
  readonly #sources = new Map<string, Source>();
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

  /** Attach: make sure the channel exists, read its subscriptions, start pulling. */
  async start(): Promise<void> {
    const { topology, channel, names, options } = this.#parts;
    await topology.ensureChannel(channel);
    this.#startSource(names.commandConsumer(channel), false);
    await this.refresh();
    const beat = Math.max(200, Math.floor(options.ackWaitMs / 3));
    this.#timers.push(setInterval(() => this.#heartbeat(beat), beat));
    this.#timers.push(setInterval(() => void this.refresh().catch(() => {}), options.refreshMs));
    for (const timer of this.#timers) timer.unref();
  }

  /** Re-read the channel's event subscription: start, narrow or stop its source. Coalesced. */
  refresh(): Promise<void> {
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
    if (subscription && !this.#sources.has(name)) this.#startSource(name, true);
    if (!subscription) this.#stopSource(name);
  }

  #startSource(name: string, events: boolean): void {
    const source: Source = {
      name,
      events,
      consumer: undefined,
      held: 0,
      requested: 0,
      fetching: 0,
      failures: 0,
      backoffUntil: 0,
      stopped: false,
      iterators: new Set(),
      wake: undefined,
      loop: undefined,
    };
    this.#sources.set(name, source);
    source.loop = this.#pull(source);
  }

  #stopSource(name: string): void {
    const source = this.#sources.get(name);
    if (!source) return;
    source.stopped = true;
    for (const iterator of source.iterators) iterator.stop();
    source.wake?.();
    this.#sources.delete(name);
  }

  /**
   * Keeps pull requests outstanding for the room left in the prefetch: a new request (for all of the
   * room) goes out as soon as a quarter of the prefetch is free, while earlier ones may still be
   * open, so the next messages are on their way while the current ones are handled. Room counts
   * messages held and messages asked for but not yet received.
   */
  async #pull(source: Source): Promise<void> {
    const { prefetch } = this.#parts;
    const threshold = Math.max(1, Math.floor(prefetch / 4));
    while (!source.stopped) {
      const wait = source.backoffUntil - Date.now();
      if (wait > 0) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        continue;
      }
      const room = prefetch - source.held - source.requested;
      if (room < threshold || source.fetching >= MAX_OPEN_PULLS) {
        await new Promise<void>((resolve) => {
          source.wake = resolve;
        });
        source.wake = undefined;
        continue;
      }
      source.requested += room;
      source.fetching++;
      await this.#fetch(source, room);
    }
  }

  /** Open one pull request for `batch` messages; resolves once it is open, runs until it ends. */
  async #fetch(source: Source, batch: number): Promise<void> {
    const { js, names, options } = this.#parts;
    let received = 0;
    const done = (failed: boolean) => {
      source.requested -= batch - received;
      source.fetching--;
      if (failed) {
        source.failures++;
        source.backoffUntil = Date.now() + Math.min(100 * source.failures, 1_000);
      } else source.failures = 0;
      source.wake?.();
    };
    let messages: Awaited<ReturnType<Consumer['fetch']>>;
    try {
      source.consumer ??= await (await js()).consumers.get(names.stream, source.name);
      messages = await source.consumer.fetch({ max_messages: batch, expires: options.pullExpiresMs });
    } catch (error) {
      await this.#missing(source, error);
      done(true);
      return;
    }
    source.iterators.add(messages);
    if (source.stopped) messages.stop();
    void (async () => {
      let failed = false;
      try {
        for await (const msg of messages) {
          received++;
          source.requested--;
          this.#receive(source, msg);
        }
      } catch (error) {
        failed = !source.stopped;
        if (failed) await this.#missing(source, error);
      } finally {
        source.iterators.delete(messages);
        done(failed);
      }
    })();
  }

  /** After a failed pull: if the JetStream consumer is gone, re-create it (commands) or re-read the subscriptions (events). */
  async #missing(source: Source, error: unknown): Promise<void> {
    if (!isApiError(error, ApiCode.ConsumerNotFound) && !/consumer not found|consumer deleted/i.test(String(error))) {
      return;
    }
    source.consumer = undefined;
    if (source.events) await this.refresh().catch(() => {});
    else {
      this.#parts.topology.forget();
      await this.#parts.topology.ensureChannel(this.#parts.channel).catch(() => {});
    }
  }

  #receive(source: Source, msg: JsMsg): void {
    const now = Date.now();
    const held: Held = { msg, generation: this.#refreshesStarted, touchedAt: now, settled: false };
    this.#held.add(held);
    source.held++;
    const message = fromNats(msg.headers, msg.data);
    if (message.deliverAt !== undefined && message.deliverAt > now + 5) {
      this.#settleRaw(held, () => msg.nak(message.deliverAt! - now));
      this.#release(source);
      return;
    }
    if (source.events) {
      const routingKey = this.#parts.names.routingKeyOf(msg.subject) ?? '';
      if (!this.#matches(routingKey)) {
        void this.#dropUnmatched(source, held, message, routingKey);
        return;
      }
    }
    void this.#dispatch(source, held, message);
  }

  #matches(routingKey: string): boolean {
    return this.#patterns.some((pattern) => matchesPattern(pattern, routingKey));
  }

  /** Acknowledge an event none of the patterns matches, after making sure the patterns are not older than it. */
  async #dropUnmatched(source: Source, held: Held, message: TransportMessage, routingKey: string): Promise<void> {
    // A refresh already under way may have read the patterns before this message was filtered: wait for a newer one.
    for (let tries = 0; tries < 3 && this.#patternsGeneration <= held.generation; tries++) {
      await this.refresh().catch(() => {});
    }
    if (this.#patternsGeneration > held.generation && !this.#matches(routingKey)) {
      this.#settleRaw(held, () => held.msg.ack());
      this.#release(source);
      return;
    }
    await this.#dispatch(source, held, message);
  }

  async #dispatch(source: Source, held: Held, message: TransportMessage): Promise<void> {
    await this.#gate.acquire();
    try {
      if (this.#stopped || held.settled) {
        this.#settleRaw(held, () => held.msg.nak());
        return;
      }
      const { msg } = held;
      const settle = settleOnce(
        async () => {
          msg.ack();
          this.#settled(held);
        },
        async (options) => {
          const delay = options?.delayMs;
          msg.nak(delay !== undefined && delay > 0 ? delay : undefined);
          this.#settled(held);
        },
      );
      held.nack = () => settle.nack();
      const delivery: Delivery = {
        message,
        channel: this.#parts.channel,
        deliveryCount: msg.info.deliveryCount,
        ack: settle.ack,
        nack: settle.nack,
      };
      try {
        await this.#parts.handler(delivery);
      } catch {
        await settle.nack().catch(() => {});
      }
    } finally {
      this.#gate.release();
      this.#release(source);
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

  #settled(held: Held): void {
    held.settled = true;
    this.#held.delete(held);
  }

  #release(source: Source): void {
    source.held--;
    source.wake?.();
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
      if (held.nack) await held.nack().catch(() => {});
      else this.#settleRaw(held, () => held.msg.nak());
    }
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#parts.onClosed();
  }
}
