import type { Delivery, NackOptions, TransportMessage } from '@switchyard/core/transport';

/** What a delivery asks of the consumer that made it. */
export interface DeliveryOwner {
  readonly channel: string;
  /**
   * Acknowledge and delete entry `id`. On failure the entry stays pending, the owner calls
   * {@link RedisDelivery.settleFailed} and drops it from its books, then the promise rejects.
   */
  ackEntry(id: string): Promise<void>;
  /** Move entry `id` back (tail or delay set) with `deliveries` recorded; fails like `ackEntry`. */
  nackEntry(id: string, deliveries: number, delayMs: number): Promise<void>;
  /**
   * The handler called `ack` or `nack` for the first time (`decided` is already set): its
   * concurrency slot is free, and the delivery no longer counts against the prefetch while the
   * broker confirms.
   */
  decide(delivery: RedisDelivery): void;
}

/**
 * One delivery of one stream entry, and this consumer's record of it while it
 * is unsettled (lease renewal time, whether the handler returned).
 *
 * Settle-once like core's `settleOnce`: the first `ack` or `nack` takes
 * effect and later calls return its promise; if that settle fails, a later
 * call may try again. Calling either frees the handler's concurrency slot at
 * once. A class instead of closures because one is made per message on the
 * hot path; an ack's promise is shared by every ack of the same batch.
 */
export class RedisDelivery implements Delivery {
  /** When the lease was last taken or renewed (ms). */
  since: number;
  /** The handler returned (or never ran because the consumer was stopping). */
  handlerDone = false;
  /** Holds one of the consumer's concurrency slots. */
  holdsSlot = false;
  /** `ack` or `nack` was called at least once. */
  decided = false;
  readonly #owner: DeliveryOwner;
  #settling: Promise<void> | undefined;

  constructor(
    owner: DeliveryOwner,
    readonly id: string,
    readonly message: TransportMessage,
    readonly deliveryCount: number,
    now: number,
  ) {
    this.#owner = owner;
    this.since = now;
  }

  get channel(): string {
    return this.#owner.channel;
  }

  /** Acked or nacked, and that settle has not failed. */
  get settling(): boolean {
    return this.#settling !== undefined;
  }

  ack(): Promise<void> {
    if (this.#settling) return this.#settling;
    this.#decide();
    this.#settling = this.#owner.ackEntry(this.id);
    return this.#settling;
  }

  nack(options?: NackOptions): Promise<void> {
    if (this.#settling) return this.#settling;
    this.#decide();
    this.#settling = this.#owner.nackEntry(this.id, this.deliveryCount, options?.delayMs ?? 0);
    return this.#settling;
  }

  #decide(): void {
    if (this.decided) return;
    this.decided = true;
    this.#owner.decide(this);
  }

  /** The owner reports that the settle failed: a later `ack` or `nack` may try again. */
  settleFailed(): void {
    this.#settling = undefined;
  }
}
