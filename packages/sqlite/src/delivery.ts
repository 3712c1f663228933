import type { Delivery, NackOptions, TransportMessage } from '@switchyard/core/transport';

/** An already resolved settle, shared: what a write-behind ack returns. */
export const SETTLED: Promise<void> = Promise.resolve();

/** How a delivery settles: implemented by its consumer. */
export interface DeliverySink {
  settleAck(delivery: SqliteDelivery): Promise<void>;
  settleNack(delivery: SqliteDelivery, delayMs: number): Promise<void>;
}

/**
 * One claimed row handed to a handler. `ack` and `nack` follow the
 * {@link Delivery} contract: the first call wins and every later call of either
 * returns the same promise; a settle that failed may be tried again. A class
 * rather than closures because one is made per message on the hot path.
 *
 * Not core's `settleOnce`, which keeps the same rule with two closures and a
 * wrapper promise per message: here a write-behind ack returns the one shared
 * {@link SETTLED} promise without any wrapper, and the consumer reads
 * `settled`/`handlerDone`/`freed` on the same object to free the handler slot
 * and the lease.
 */
export class SqliteDelivery implements Delivery {
  readonly message: TransportMessage;
  readonly channel: string;
  readonly deliveryCount: number;
  /** Row id and lease token of the claim. */
  readonly seq: number;
  readonly owner: string;
  readonly key: string | null;
  /** Settled for good (acked, nacked, released, or abandoned to lease expiry). */
  settled = false;
  /** The handler returned. */
  handlerDone = false;
  /** Its handler slot was given back. */
  freed = false;
  readonly #sink: DeliverySink;
  #pending: Promise<void> | undefined;

  constructor(
    sink: DeliverySink,
    channel: string,
    seq: number,
    owner: string,
    key: string | null,
    deliveryCount: number,
    message: TransportMessage,
  ) {
    this.#sink = sink;
    this.channel = channel;
    this.seq = seq;
    this.owner = owner;
    this.key = key;
    this.deliveryCount = deliveryCount;
    this.message = message;
  }

  ack(): Promise<void> {
    if (this.#pending !== undefined) return this.#pending;
    const work = this.#sink.settleAck(this);
    // A write-behind ack cannot fail here: no wrapper promise needed (one fewer per message).
    if (work === SETTLED) {
      this.#pending = work;
      return work;
    }
    return this.#settle(work);
  }

  nack(options?: NackOptions): Promise<void> {
    return this.#pending ?? this.#settle(this.#sink.settleNack(this, Math.max(0, options?.delayMs ?? 0)));
  }

  #settle(work: Promise<void>): Promise<void> {
    const pending = work.catch((error: unknown) => {
      if (this.#pending === pending) this.#pending = undefined;
      throw error;
    });
    this.#pending = pending;
    return pending;
  }
}
