import type { ClaimedDelivery } from './claimed-delivery.js';
import type { DeliveryHandler } from './types.js';

/**
 * The handler side of a claiming consumer (a table-backed queue: SQLite, PostgreSQL): claimed
 * deliveries wait in a buffer and run on at most `concurrency` handlers. A slot stays taken until
 * its handler returned and its delivery settled, so that unsettled deliveries exert backpressure
 * instead of being dropped. A handler that throws has its delivery nacked; a nack that fails too
 * is passed to `onNackFailed` (the consumer stops renewing the lease, so the message comes back).
 * Not shared across consumers; after `stop` no further handler starts.
 */
export class HandlerSlots<TSeq, D extends ClaimedDelivery<TSeq> = ClaimedDelivery<TSeq>> {
  readonly #handler: DeliveryHandler;
  readonly #concurrency: number;
  readonly #onNackFailed: (delivery: D, error: unknown) => void;
  readonly #buffer: D[] = [];
  /** Slots taken: a slot frees when its handler returned and its delivery is settled. */
  #running = 0;
  /** Handlers executing now; `drain` waits for these. */
  #executing = 0;
  #idle: Array<() => void> = [];
  #stopped = false;

  constructor(handler: DeliveryHandler, concurrency: number, onNackFailed: (delivery: D, error: unknown) => void) {
    this.#handler = handler;
    this.#concurrency = concurrency;
    this.#onNackFailed = onNackFailed;
  }

  /** Queue a claimed delivery; it starts on the next `pump` with a free slot. */
  add(delivery: D): void {
    this.#buffer.push(delivery);
  }

  /** Start handlers while slots are free and deliveries wait. */
  pump(): void {
    while (this.#running < this.#concurrency && this.#buffer.length > 0 && !this.#stopped) {
      const delivery = this.#buffer.shift() as D;
      this.#running++;
      void this.#run(delivery);
    }
  }

  /** Give the slot of `delivery` back once its handler returned and it is settled (call after settling). */
  free(delivery: D): void {
    if (!delivery.handlerDone || !delivery.settled || delivery.freed) return;
    delivery.freed = true;
    this.#running--;
    this.pump();
  }

  /** Start no further handler (close). */
  stop(): void {
    this.#stopped = true;
  }

  /** Take the deliveries that wait for a slot and never started (close: the caller releases them). */
  takeUnstarted(): D[] {
    return this.#buffer.splice(0);
  }

  /** Resolves once no handler executes, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void> {
    if (this.#executing === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async #run(delivery: D): Promise<void> {
    this.#executing++;
    try {
      await this.#handler(delivery);
    } catch {
      try {
        await delivery.nack();
      } catch (error) {
        this.#onNackFailed(delivery, error);
      }
    }
    delivery.handlerDone = true;
    this.#executing--;
    if (this.#executing === 0) for (const done of this.#idle.splice(0)) done();
    this.free(delivery);
  }
}
