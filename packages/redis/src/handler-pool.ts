import { type DeliveryHandler, withTimeout } from '@switchyard/core/transport';
import type { RedisDelivery } from './redis-delivery.js';

/**
 * Runs the handler over fetched deliveries, at most `concurrency` deciding at
 * once. A slot is taken when the handler starts and freed as soon as it acks
 * or nacks (core's handler then only awaits the broker's confirmation, which
 * needs no slot) or returns, whichever comes first; so with batched acks the
 * slots keep working while a batch is on its way. A handler that throws gets
 * its delivery nacked. One per consumer.
 *
 * Not core's `ConcurrencyGate`: the gate hands a slot back when its task
 * returns and costs a promise per `acquire`; this pool frees a slot at the
 * delivery's first `ack`/`nack`, before the handler returns, and starts the
 * next fetched delivery synchronously from its own queue.
 */
export class HandlerPool {
  readonly #concurrency: number;
  readonly #handler: DeliveryHandler;
  /** Deliveries waiting for a slot, from #head on (cleared behind it). */
  #queue: Array<RedisDelivery | undefined> = [];
  #head = 0;
  #slots = 0;
  /** Handlers that have not returned yet, slot or not. */
  #active = 0;
  #idleWaiters: Array<() => void> = [];
  #stopped = false;

  constructor(concurrency: number, handler: DeliveryHandler) {
    this.#concurrency = concurrency;
    this.#handler = handler;
  }

  /** Queue a delivery; call {@link pump} once a batch is queued. */
  push(delivery: RedisDelivery): void {
    this.#queue.push(delivery);
  }

  /** Start handlers while slots are free. */
  pump(): void {
    // A handler may settle synchronously and re-enter pump(): state is read from the fields every time.
    while (!this.#stopped && this.#slots < this.#concurrency && this.#head < this.#queue.length) {
      const delivery = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      delivery.holdsSlot = true;
      this.#slots++;
      void this.#run(delivery);
    }
  }

  /** The delivery's handler has decided: free its slot (no-op if it holds none). */
  release(delivery: RedisDelivery): void {
    if (!delivery.holdsSlot) return;
    delivery.holdsSlot = false;
    this.#slots--;
    this.pump();
  }

  /** Start nothing more; returns the deliveries that were queued and never handed out. */
  stop(): RedisDelivery[] {
    this.#stopped = true;
    const queued = this.#queue.slice(this.#head) as RedisDelivery[];
    this.#queue = [];
    this.#head = 0;
    return queued;
  }

  /** Resolves when no handler runs any more, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
    return withTimeout(idle, timeoutMs, 'running handlers').catch(() => {});
  }

  async #run(delivery: RedisDelivery): Promise<void> {
    this.#active++;
    try {
      await this.#handler(delivery);
    } catch {
      await delivery.nack().catch(() => {});
    } finally {
      delivery.handlerDone = true;
      this.release(delivery);
      if (--this.#active === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }
}
