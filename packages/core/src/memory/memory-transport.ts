import { ErrorCode, TransportError } from '../errors.js';
import { InMemoryDeadLetterStore } from '../resilience/memory-stores.js';
import type { DeadLetterStore } from '../resilience/stores.js';
import { BookedReplyChannels } from '../transport/booked-replies.js';
import { consumeLimits } from '../transport/consume-options.js';
import type {
  ChannelStats,
  ConnectionState,
  ConsumeOptions,
  DeliveryHandler,
  ReplyChannels,
  RoutedMessage,
  Subscription,
  Topology,
  Transport,
  TransportCapabilities,
  TransportMessage,
} from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import { MemoryBroker } from './broker.js';
import { MEMORY_CHANNEL_STATS, memoryChannelStats } from './channel-stats.js';
import { type ConsumerOwner, DEFAULT_DRAIN_MS, MemoryConsumer } from './consumer.js';
import { type MemoryFaults, planFaults } from './faults.js';
import { MemoryReplyBook } from './reply-book.js';

/** Options for {@link MemoryTransport}. */
export interface MemoryTransportOptions {
  /** The broker to attach to; several transports on one broker act like several processes. Default: a new one. */
  readonly broker?: MemoryBroker;
  /** Clock for a broker created here and for injected delivery latency (default: the broker's clock). */
  readonly clock?: Clock;
  /** Name for logs (default `memory`). */
  readonly name?: string;
  /** Largest accepted message, headers + body (default 4 MiB); larger sends reject with `SY_TOO_LARGE`. */
  readonly maxMessageBytes?: number;
  /** Bound on waiting for in-flight handlers in {@link MemoryTransport.close} (default 30 s). */
  readonly drainTimeoutMs?: number;
  /** Faults to inject into this transport's deliveries (default none); see {@link MemoryFaults}. */
  readonly faults?: MemoryFaults;
  /**
   * Behave like a broker with weaker capabilities, so core's fallbacks can be
   * tested without one. `delayedDelivery: 'emulated'`: messages with a future
   * `deliverAt` are delivered at once (nack delays are still honoured).
   * `patternFiltering: 'client'`: a published event goes to every channel with
   * any subscription, matching or not. `orderingPerKey: false` only changes
   * the flag. Defaults: native, server, true.
   */
  readonly behaveAs?: Partial<Pick<TransportCapabilities, 'delayedDelivery' | 'patternFiltering' | 'orderingPerKey'>>;
}

const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const deadLetterStores = new WeakMap<MemoryBroker, Map<string, InMemoryDeadLetterStore>>();
const RESOLVED = Promise.resolve();

/**
 * The in-memory transport: a {@link Transport} over a {@link MemoryBroker} in
 * this process. Delay is native (the broker holds messages on its clock),
 * order per key holds for a consumer with concurrency 1, event patterns are
 * matched by the broker, and nothing is durable (`behaveAs` can weaken the
 * first and third, to test core's fallbacks).
 *
 * Sends resolve once the messages are in the broker, synchronously accepted;
 * after {@link close} they reject with `SY_CLOSED`. Messages are passed by
 * reference: neither side may mutate them.
 *
 * For tests it can misbehave on purpose: {@link dropConnection},
 * {@link failSends} and the delivery faults of {@link MemoryFaults}.
 */
export class MemoryTransport implements Transport {
  readonly name: string;
  readonly capabilities: TransportCapabilities;
  /** The broker this transport is attached to. */
  readonly broker: MemoryBroker;
  /**
   * Reply channels on this broker: a channel per owner, shared by every transport on the
   * broker, refreshed while its transport is open and removed by the next `open` once expired.
   */
  readonly replies: ReplyChannels;
  readonly #clock: Clock;
  readonly #drainTimeoutMs: number;
  readonly #consumers = new Set<MemoryConsumer>();
  readonly #owner: ConsumerOwner;
  #failSends = 0;
  readonly #watchers = new Set<(state: ConnectionState) => void>();
  #cancelReconnect: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: MemoryTransportOptions = {}) {
    this.broker = options.broker ?? new MemoryBroker(options.clock === undefined ? {} : { clock: options.clock });
    this.#clock = options.clock ?? this.broker.clock;
    this.name = options.name ?? 'memory';
    this.#drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_MS;
    this.capabilities = {
      delayedDelivery: options.behaveAs?.delayedDelivery ?? 'native',
      orderingPerKey: options.behaveAs?.orderingPerKey ?? true,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      replay: false,
      nativeDeadLetter: false,
      patternFiltering: options.behaveAs?.patternFiltering ?? 'server',
      durable: false,
      reconnect: true,
      channelStats: MEMORY_CHANNEL_STATS,
    };
    this.#owner = {
      clock: this.#clock,
      faults: planFaults(options.faults),
      connected: true,
      released: (consumer) => this.#consumers.delete(consumer),
    };
    this.replies = new BookedReplyChannels(this, new MemoryReplyBook(this.broker, () => this.#closing !== undefined));
  }

  /** Replace the delivery faults (undefined turns them off); applies to deliveries from now on. */
  setFaults(faults: MemoryFaults | undefined): void {
    this.#owner.faults = planFaults(faults);
  }

  /** Make the next `count` calls of `send` or `publish` reject with `SY_SEND_FAILED`, storing nothing. */
  failSends(count: number): void {
    this.#failSends += Math.max(0, Math.floor(count));
  }

  /**
   * Simulate a dropped connection: every unsettled delivery of this transport
   * goes back to the front of its channel (to be delivered again, with a higher
   * delivery count), and acks or nacks of those deliveries afterwards have no
   * effect. Consumers stay attached and resume by themselves, as after a
   * reconnect. Handlers already running keep their concurrency slot until they return.
   *
   * With `downForMs`, the connection stays down that long on the transport's
   * clock: sends and publishes reject with `SY_SEND_FAILED`, `ping` and
   * `provision` with `SY_TRANSPORT_UNAVAILABLE`, and nothing is delivered;
   * then consumers resume by themselves. A new drop restarts the outage.
   */
  dropConnection(options: { downForMs?: number } = {}): void {
    for (const consumer of this.#consumers) consumer.takeBackAll();
    const downForMs = options.downForMs ?? 0;
    if (downForMs <= 0) return;
    this.#cancelReconnect?.();
    const error = new Error('connection dropped (injected fault)');
    if (this.#owner.connected) this.#report({ status: 'disconnected', endpoint: this.#endpoint, error });
    this.#owner.connected = false;
    this.#report({ status: 'retrying', endpoint: this.#endpoint, error, attempt: 1, delayMs: downForMs });
    this.#cancelReconnect = this.#clock.schedule(downForMs, () => this.#reconnect());
  }

  /** Reports the injected outages of {@link dropConnection}: `disconnected`, `retrying` with `downForMs`, then `connected`. */
  watchConnection(listener: (state: ConnectionState) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  get #endpoint(): string {
    return `memory://${this.name}`;
  }

  #report(state: ConnectionState): void {
    for (const listener of this.#watchers) listener(state);
  }

  /** End an injected outage now (as if `downForMs` had passed): consumers resume. A no-op when connected. */
  restoreConnection(): void {
    if (this.#owner.connected) return;
    this.#cancelReconnect?.();
    this.#reconnect();
  }

  /** True unless an injected outage ({@link dropConnection} with `downForMs`) is under way. */
  get connected(): boolean {
    return this.#owner.connected;
  }

  #reconnect(): void {
    this.#cancelReconnect = undefined;
    this.#owner.connected = true;
    this.#report({ status: 'connected', endpoint: this.#endpoint });
    for (const consumer of this.#consumers) consumer.resume();
  }

  async provision(topology: Topology): Promise<void> {
    this.#assertOpen();
    this.#assertConnected();
    this.broker.provision(topology);
  }

  send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    const refused = this.#refuse(messages);
    if (refused !== undefined) return Promise.reject(refused);
    try {
      this.broker.send(channel, messages, this.capabilities.delayedDelivery === 'native');
    } catch (error) {
      return Promise.reject(error);
    }
    return RESOLVED;
  }

  publish(messages: readonly RoutedMessage[]): Promise<void> {
    const refused = this.#refuse(messages);
    if (refused !== undefined) return Promise.reject(refused);
    this.broker.publish(
      messages,
      this.capabilities.delayedDelivery === 'native',
      this.capabilities.patternFiltering === 'server',
    );
    return RESOLVED;
  }

  async consume(channel: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    this.#assertOpen();
    const { concurrency, prefetch } = consumeLimits(options);
    const consumer = new MemoryConsumer(this.broker.channel(channel), handler, concurrency, prefetch, this.#owner);
    this.#consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  /**
   * The in-memory dead-letter store of `service` on this broker: every transport on the same
   * broker returns the same store for a service. Lost with the process, like the broker.
   */
  deadLetterStore(service: string): DeadLetterStore {
    let stores = deadLetterStores.get(this.broker);
    if (!stores) {
      stores = new Map();
      deadLetterStores.set(this.broker, stores);
    }
    let store = stores.get(service);
    if (!store) {
      store = new InMemoryDeadLetterStore();
      stores.set(service, store);
    }
    return store;
  }

  /** Depth, in-flight and consumers of each channel, from the broker's counters; see {@link memoryChannelStats}. */
  async channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    this.#assertOpen();
    return memoryChannelStats(this.broker, channels);
  }

  async ping(): Promise<void> {
    this.#assertOpen();
    this.#assertConnected();
  }

  /**
   * Close every subscription (each waits for its in-flight handlers, at most
   * `drainTimeoutMs`, then returns its unsettled deliveries to the broker).
   * Idempotent: later calls return the same promise. The broker keeps its messages.
   */
  close(): Promise<void> {
    this.#cancelReconnect?.();
    this.#watchers.clear();
    this.#closing ??= Promise.all(
      [...this.#consumers].map((consumer) => consumer.close({ drainTimeoutMs: this.#drainTimeoutMs })),
    ).then(() => undefined);
    return this.#closing;
  }

  #refuse(messages: readonly TransportMessage[]): TransportError | undefined {
    if (this.#closing !== undefined) return closedError();
    if (!this.#owner.connected) {
      return new TransportError(
        ErrorCode.SendFailed,
        `${this.name}: send failed, the connection is down (injected fault)`,
      );
    }
    if (this.#failSends > 0) {
      this.#failSends--;
      return new TransportError(ErrorCode.SendFailed, `${this.name}: send failed (injected fault)`);
    }
    const max = this.capabilities.maxMessageBytes;
    for (const message of messages) {
      if (message.body.byteLength > max - 65_536 && sizeOf(message) > max) {
        return new TransportError(
          ErrorCode.TooLarge,
          `${this.name}: message ${message.id} is larger than ${max} bytes`,
        );
      }
    }
    return undefined;
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw closedError();
  }

  #assertConnected(): void {
    if (!this.#owner.connected) {
      throw new TransportError(ErrorCode.TransportUnavailable, `${this.name}: the connection is down (injected fault)`);
    }
  }
}

function closedError(): TransportError {
  return new TransportError(ErrorCode.Closed, 'memory transport is closed');
}

function sizeOf(message: TransportMessage): number {
  let size = message.body.byteLength;
  for (const name in message.headers) size += name.length + (message.headers[name]?.length ?? 0);
  return size;
}
