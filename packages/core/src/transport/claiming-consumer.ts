import { randomBytes } from 'node:crypto';
import { ErrorCode, TransportError } from '../errors.js';
import { ClaimedDelivery, type ClaimSink, parseStoredHeaders } from './claimed-delivery.js';
import { FetchWaker } from './fetch-waker.js';
import { HandlerSlots } from './handler-slots.js';
import type { DeliveryHandler, Subscription, TransportMessage } from './types.js';

/**
 * A claimed row as a table-backed queue's driver returns it (an array: cheaper than an object
 * per row): row id, message id, headers as JSON (see {@link parseStoredHeaders}), body, key and
 * how many times the row was claimed.
 */
export type ClaimedRow<TSeq> = readonly [
  seq: TSeq,
  id: string,
  headers: string,
  body: Uint8Array,
  key: string | null,
  deliveryCount: number,
];

/** What every {@link ClaimingConsumer} needs from its table; the fetch loop and settles use more. */
export interface LeaseAccess<TSeq> {
  /** Lease length: leases are renewed every third of it. */
  readonly leaseMs: number;
  /** Where a consumer reports what it cannot throw (failed renewals, releases, handler nack failures). */
  readonly onError: (error: TransportError) => void;
  /** Push the lease of each `[seq, owner]` further; may reject (reported, the lease then expires). */
  extend(leases: ReadonlyArray<readonly [seq: TSeq, owner: string]>): Promise<void>;
}

/** Settings of one claiming consumer. */
export interface ClaimingSettings {
  readonly concurrency: number;
  /** At most this many rows leased at once; the next claim starts once half of them are settled. */
  readonly prefetch: number;
  /** Ack resolves only once its delete committed (otherwise: once queued). */
  readonly durableAck: boolean;
}

/**
 * The shared body of a consumer of one channel of a table-backed queue (SQLite, PostgreSQL):
 * claimed rows become {@link ClaimedDelivery}s run by at most `concurrency` {@link HandlerSlots},
 * their leases renewed every third of the lease until settled, so that only a consumer that died
 * (or hung longer than the lease) loses its messages to redelivery. A handler slot stays taken
 * until its delivery is settled: unsettled deliveries exert backpressure instead of being dropped.
 *
 * A subclass brings its table: the fetch loop (how and when to claim), the settles and how
 * claims are given back on close. `close` is idempotent: it stops fetching, gives back the
 * deliveries that never started at once, waits up to `drainTimeoutMs` for running handlers,
 * then gives back whatever is still unsettled and commits queued writes ({@link flush}).
 */
export abstract class ClaimingConsumer<TSeq> implements Subscription, ClaimSink<TSeq> {
  protected readonly channel: string;
  protected readonly settings: ClaimingSettings;
  protected readonly inFlight = new Map<TSeq, ClaimedDelivery<TSeq>>();
  protected readonly slots: HandlerSlots<TSeq>;
  protected readonly waker = new FetchWaker();
  /** Claim again once no more than this many claimed rows are unsettled, so that claims stay large. */
  protected readonly lowWater: number;
  /** Close began: the fetch loop must end, and rows it claims now go straight back. */
  protected stopping = false;
  readonly #leases: LeaseAccess<TSeq>;
  readonly #token = randomBytes(6).toString('hex');
  #claims = 0;
  #loop: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #unlisten: (() => void) | undefined;

  constructor(leases: LeaseAccess<TSeq>, channel: string, handler: DeliveryHandler, settings: ClaimingSettings) {
    this.#leases = leases;
    this.channel = channel;
    this.settings = settings;
    this.lowWater = Math.floor(settings.prefetch / 2);
    this.slots = new HandlerSlots(handler, settings.concurrency, (delivery, error) => {
      this.report(error);
      // Stop renewing it: its lease expires and it is redelivered.
      delivery.settled = true;
      this.inFlight.delete(delivery.seq);
    });
  }

  /** See {@link ClaimSink}. */
  abstract settleAck(delivery: ClaimedDelivery<TSeq>): Promise<void>;
  /** See {@link ClaimSink}. */
  abstract settleNack(delivery: ClaimedDelivery<TSeq>, delayMs: number): Promise<void>;

  /** Claim and hand rows to {@link slots} until {@link stopping}; must not reject. */
  protected abstract fetchLoop(): Promise<void>;

  /**
   * Give claimed rows back for redelivery (close): `unstarted` ones never reached a handler.
   * Already marked settled and out of {@link inFlight}; failures are reported, not thrown (the
   * leases expire and the rows come back anyway).
   */
  protected abstract giveBack(deliveries: ClaimedDelivery<TSeq>[], unstarted: boolean): Promise<void>;

  /** Commit queued writes (write-behind acks) before close resolves. */
  protected abstract flush(): Promise<void>;

  /**
   * Begin renewing leases and run the fetch loop; `unlisten` ends the wake-up subscription on
   * close. Called once by the subclass's start, and not after close began.
   */
  protected run(unlisten: () => void): void {
    this.#unlisten = unlisten;
    const every = Math.max(10, Math.floor(this.#leases.leaseMs / 3));
    this.#renewTimer = setInterval(() => this.#renew(), every);
    this.#renewTimer.unref();
    this.#loop = this.fetchLoop();
  }

  /** See {@link Subscription.close}: unstarted and unsettled deliveries are released at once for redelivery. */
  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#shutdown(options?.drainTimeoutMs ?? 30_000);
    return this.#closing;
  }

  /** A lease token for the next claim: unique per claim, so that a late settle of an older claim cannot touch a newer one. */
  protected nextOwner(): string {
    return `${this.#token}.${++this.#claims}`;
  }

  /** Turn a claimed row into a delivery, tracked for renewal until settled. */
  protected track(row: ClaimedRow<TSeq>, owner: string): ClaimedDelivery<TSeq> {
    const [seq, id, headers, body, key, deliveryCount] = row;
    // The driver's Buffer is a Uint8Array: handed over as is, no copy, no view.
    const message: TransportMessage =
      key === null
        ? { id, headers: parseStoredHeaders(headers), body }
        : { id, headers: parseStoredHeaders(headers), body, key };
    const delivery = new ClaimedDelivery(this, this.channel, seq, owner, key, deliveryCount, message);
    this.inFlight.set(seq, delivery);
    return delivery;
  }

  /** A settle committed (or was given up): stop renewing, claim again when low, free the handler slot. */
  protected settled(delivery: ClaimedDelivery<TSeq>): void {
    delivery.settled = true;
    this.inFlight.delete(delivery.seq);
    if (this.inFlight.size <= this.lowWater && this.wakesOnSettle(delivery)) this.waker.wake();
    this.slots.free(delivery);
  }

  /**
   * Whether a settle that leaves at most {@link lowWater} rows in flight wakes the fetch loop:
   * always, unless a subclass knows that its loop, asleep on a drained channel, would only claim
   * nothing (see the PostgreSQL consumer). Pure.
   */
  protected wakesOnSettle(_delivery: ClaimedDelivery<TSeq>): boolean {
    return true;
  }

  /** Report an error through the access's `onError`, as a TransportError. */
  protected report(error: unknown): void {
    this.#leases.onError(
      error instanceof TransportError
        ? error
        : new TransportError(ErrorCode.TransportUnavailable, String(error), { cause: error }),
    );
  }

  async #shutdown(drainTimeoutMs: number): Promise<void> {
    this.stopping = true;
    this.#unlisten?.();
    this.waker.stop();
    this.slots.stop();
    // A claim stuck on a dead connection must not hold close forever: its rows come back by lease.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#loop, new Promise((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)))]);
    clearTimeout(timer);
    await this.giveBack(this.#abandon(this.slots.takeUnstarted()), true);
    await this.slots.drain(drainTimeoutMs);
    clearInterval(this.#renewTimer);
    await this.giveBack(this.#abandon([...this.inFlight.values()]), false);
    await this.flush();
  }

  /** The unsettled ones of `deliveries`, now marked settled and no longer renewed. */
  #abandon(deliveries: ClaimedDelivery<TSeq>[]): ClaimedDelivery<TSeq>[] {
    const unsettled = deliveries.filter((delivery) => !delivery.settled);
    for (const delivery of unsettled) {
      delivery.settled = true;
      this.inFlight.delete(delivery.seq);
    }
    return unsettled;
  }

  #renew(): void {
    if (this.inFlight.size === 0) return;
    const leases = [...this.inFlight.values()].filter((s) => !s.settled).map((s) => [s.seq, s.owner] as const);
    if (leases.length > 0) this.#leases.extend(leases).catch((error: unknown) => this.report(error));
  }
}
