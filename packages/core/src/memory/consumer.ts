import { ConcurrencyGate } from '../transport/concurrency-gate.js';
import type { Delivery, DeliveryHandler, NackOptions, Subscription } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import type { MemoryChannel } from './channel.js';
import type { FaultPlan } from './faults.js';
import { type Pending, PendingList } from './pending-list.js';

/** Default bound on waiting for in-flight handlers when a subscription closes. */
export const DEFAULT_DRAIN_MS = 30_000;

/** What a consumer needs from the transport that owns it. */
export interface ConsumerOwner {
  readonly clock: Clock;
  /** Current delivery faults; the transport may replace them at any time. */
  faults: FaultPlan;
  /** False while an injected outage lasts: nothing is delivered. */
  connected: boolean;
  /** Called once when the consumer has closed. */
  released(consumer: MemoryConsumer): void;
}

const RESOLVED = Promise.resolve();

/**
 * A consumer of one channel. At most `concurrency` handlers run at once and at
 * most `prefetch` deliveries are unsettled at once, whichever binds first.
 * Deliveries stay unsettled until acked or nacked; a handler that rejects gets
 * its delivery nacked. Taking back a delivery (close, dropped connection)
 * returns it to the front of its channel and turns its later ack or nack into
 * a no-op, as a broker does for a delivery on a dead connection.
 */
export class MemoryConsumer implements Subscription {
  readonly #channel: MemoryChannel;
  readonly #handler: DeliveryHandler;
  readonly #owner: ConsumerOwner;
  readonly #gate: ConcurrencyGate;
  readonly #prefetch: number;
  readonly #unsettled: PendingList;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #finished = () => {
    this.#gate.release();
    this.#channel.schedule();
  };

  constructor(
    channel: MemoryChannel,
    handler: DeliveryHandler,
    concurrency: number,
    prefetch: number,
    owner: ConsumerOwner,
  ) {
    this.#channel = channel;
    this.#unsettled = new PendingList(() => channel.settled());
    this.#handler = handler;
    this.#owner = owner;
    this.#gate = new ConcurrencyGate(concurrency);
    this.#prefetch = Math.max(prefetch, concurrency);
  }

  /** Attach to the channel. */
  start(): void {
    this.#channel.attach(this);
  }

  get hasRoom(): boolean {
    return !this.#closed && this.#owner.connected && this.#gate.hasRoom && this.#unsettled.size < this.#prefetch;
  }

  /** Ask the channel for deliveries again (after an outage ends). */
  resume(): void {
    this.#channel.schedule();
  }

  /** Deliveries taken and not yet settled. */
  get unsettled(): number {
    return this.#unsettled.size;
  }

  pull(): boolean {
    const faults = this.#owner.faults;
    const entry = this.#channel.take(faults.pick);
    if (entry === undefined) return false;
    entry.deliveries++;
    if (
      faults.duplicate !== undefined &&
      entry.copy === undefined &&
      faults.duplicate(entry.message, entry.deliveries)
    ) {
      this.#channel.enqueue({ message: entry.message, deliveries: entry.deliveries - 1, copy: true });
    }
    const pending = this.#unsettled.add(entry);
    this.#gate.tryAcquire(); // the channel pulls only while `hasRoom`, so this takes a slot
    if (faults.deliveryDelayMs > 0) this.#owner.clock.schedule(faults.deliveryDelayMs, () => this.#handle(pending));
    else this.#handle(pending);
    return true;
  }

  #handle(pending: Pending): void {
    if (!pending.live || this.#closed) {
      // Taken back, or fetched ahead and the consumer closed before handling it.
      this.#giveBack(pending);
      this.#finished();
      return;
    }
    const delivery = new MemoryDelivery(pending, this.#channel.name, this.#settler);
    let result: unknown;
    try {
      result = this.#handler(delivery);
    } catch {
      this.#handlerFailed(delivery);
      return;
    }
    if (isThenable(result)) result.then(this.#finished, () => this.#handlerFailed(delivery));
    else this.#finished();
  }

  #handlerFailed(delivery: Delivery): void {
    void delivery.nack().catch(() => undefined);
    this.#finished();
  }

  /** The consumer's settle functions, shared by its deliveries (not two closures per delivery). */
  readonly #settler: Settler = {
    ack: (pending) => this.#ack(pending),
    nack: (pending, options) => this.#nack(pending, options),
  };

  #ack(pending: Pending): Promise<void> {
    if (this.#unsettled.settle(pending)) this.#channel.schedule();
    return RESOLVED;
  }

  #nack(pending: Pending, options?: NackOptions): Promise<void> {
    if (!this.#unsettled.settle(pending)) return RESOLVED;
    const delayMs = options?.delayMs ?? 0;
    if (delayMs > 0) this.#channel.enqueueAfter(pending.entry, delayMs);
    else this.#channel.enqueue(pending.entry, true);
    return RESOLVED;
  }

  #giveBack(pending: Pending): void {
    if (this.#unsettled.settle(pending)) this.#channel.enqueue(pending.entry, true);
  }

  /**
   * Return every unsettled delivery to the front of the channel, in delivery
   * order; their later acks and nacks are no-ops. The consumer keeps consuming.
   */
  takeBackAll(): void {
    this.#unsettled.drainNewestFirst((entry) => this.#channel.enqueue(entry, true));
  }

  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#close(options?.drainTimeoutMs ?? DEFAULT_DRAIN_MS);
    return this.#closing;
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    this.#closed = true;
    this.#channel.detach(this);
    await this.#gate.drain(drainTimeoutMs);
    this.takeBackAll();
    this.#owner.released(this);
  }
}

interface Settler {
  ack(pending: Pending): Promise<void>;
  nack(pending: Pending, options?: NackOptions): Promise<void>;
}

/**
 * One delivery of the in-memory transport. The first ack or nack wins and
 * every later call of either returns its result, as the {@link Delivery}
 * contract demands (what `settleOnce` does for the other transports; the
 * memory transport's settles never fail, so none needs retrying). A class
 * rather than an object of closures: it is made once per message.
 */
class MemoryDelivery implements Delivery {
  readonly message: Delivery['message'];
  readonly channel: string;
  readonly deliveryCount: number;
  readonly #pending: Pending;
  readonly #settler: Settler;
  #settled: Promise<void> | undefined;

  constructor(pending: Pending, channel: string, settler: Settler) {
    this.message = pending.entry.message;
    this.channel = channel;
    this.deliveryCount = pending.entry.deliveries;
    this.#pending = pending;
    this.#settler = settler;
  }

  ack(): Promise<void> {
    this.#settled ??= this.#settler.ack(this.#pending);
    return this.#settled;
  }

  nack(options?: NackOptions): Promise<void> {
    this.#settled ??= this.#settler.nack(this.#pending, options);
    return this.#settled;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
