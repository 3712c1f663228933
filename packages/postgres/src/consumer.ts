import { randomBytes } from 'node:crypto';
import {
  ClaimedDelivery,
  type ClaimSink,
  type DeliveryHandler,
  ErrorCode,
  FetchWaker,
  HandlerSlots,
  parseStoredHeaders,
  SETTLED,
  type Subscription,
  TransportError,
} from '@switchyard/core/transport';
import type { QueueAccess } from './queue-access.js';
import type { ClaimedRow } from './statements.js';

/** Settings of one consumer. */
export interface ConsumerSettings {
  readonly concurrency: number;
  readonly prefetch: number;
  /** Ack resolves only once its delete committed (otherwise: once queued). */
  readonly durableAck: boolean;
}

/** Shortest wait before claiming again when a claimable row was taken by a concurrent claim. */
const MIN_RETRY_MS = 5;

/**
 * One consumer of one channel. A fetch loop claims up to half of `prefetch` rows in one statement
 * (which also deletes the rows acked since the last one) whenever at most half of `prefetch` are
 * unsettled, so that the next batch is claimed while the previous one is handled (a batch goes to
 * the handlers only after the next claim was sent) and at most `prefetch` rows are leased at once. It hands them to at most `concurrency`
 * handlers, and renews the leases of every claimed, unsettled row every third of the lease, so
 * that only a consumer that died (or hung longer than the lease) loses its messages to
 * redelivery. It sleeps while the channel is empty until a NOTIFY, a settle, the next delayed
 * row or the fallback poll wakes it. A handler slot stays taken until its delivery is settled:
 * unsettled deliveries exert backpressure instead of being dropped.
 */
export class PostgresConsumer implements Subscription, ClaimSink<string> {
  readonly #access: QueueAccess;
  readonly #channel: string;
  readonly #settings: ConsumerSettings;
  readonly #token = randomBytes(6).toString('hex');
  readonly #inFlight = new Map<string, ClaimedDelivery<string>>();
  readonly #slots: HandlerSlots<string>;
  readonly #waker = new FetchWaker();
  #claims = 0;
  /** Claim again once no more than this many claimed rows are unsettled, so that claims stay large. */
  readonly #lowWater: number;
  /** Rows per claim: half the prefetch, so that the next claim runs while the previous one is handled. */
  readonly #claimSize: number;
  #stopping = false;
  #pumpScheduled = false;
  #loop: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #unlisten: (() => void) | undefined;

  constructor(access: QueueAccess, channel: string, handler: DeliveryHandler, settings: ConsumerSettings) {
    this.#access = access;
    this.#channel = channel;
    this.#settings = settings;
    this.#lowWater = Math.floor(settings.prefetch / 2);
    this.#claimSize = Math.ceil(settings.prefetch / 2);
    this.#slots = new HandlerSlots(handler, settings.concurrency, (delivery, error) => {
      this.#report(error);
      // Stop renewing it: its lease expires and it is redelivered.
      delivery.settled = true;
      this.#inFlight.delete(delivery.seq);
    });
  }

  /** Begin fetching; resolves once the wake-up LISTEN is in place. A no-op after close. */
  async start(): Promise<void> {
    if (this.#stopping) return;
    const unlisten = await this.#access.listen(this.#channel, () => this.#waker.wake());
    if (this.#stopping) {
      unlisten();
      return;
    }
    this.#unlisten = unlisten;
    const every = Math.max(10, Math.floor(this.#access.leaseMs / 3));
    this.#renewTimer = setInterval(() => this.#renew(), every);
    this.#renewTimer.unref();
    this.#loop = this.#fetchLoop();
  }

  /** See {@link Subscription.close}: unstarted and unsettled deliveries are released at once for redelivery. */
  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#shutdown(options?.drainTimeoutMs ?? 30_000);
    return this.#closing;
  }

  async #shutdown(drainTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#unlisten?.();
    this.#waker.stop();
    this.#slots.stop();
    // A claim stuck on a dead connection must not hold close forever: its rows come back by lease.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#loop, new Promise((resolve) => (timer = setTimeout(resolve, drainTimeoutMs)))]);
    clearTimeout(timer);
    const unstarted = this.#slots.takeUnstarted().filter((state) => !state.settled);
    for (const state of unstarted) {
      state.settled = true;
      this.#inFlight.delete(state.seq);
    }
    const byOwner = new Map<string, string[]>();
    for (const state of unstarted) byOwner.set(state.owner, [...(byOwner.get(state.owner) ?? []), state.seq]);
    await Promise.all(
      [...byOwner].map(([owner, seqs]) => this.#access.unclaim(seqs, owner).catch((e: unknown) => this.#report(e))),
    );
    await this.#slots.drain(drainTimeoutMs);
    clearInterval(this.#renewTimer);
    const left = [...this.#inFlight.values()].filter((state) => !state.settled);
    this.#inFlight.clear();
    await Promise.all(
      left.map((state) => {
        state.settled = true;
        // Failing that, the lease expires and the message comes back anyway.
        return this.#access.release(state.seq, state.owner, 0).catch((e: unknown) => this.#report(e));
      }),
    );
    // Write-behind acks are committed before close resolves.
    await this.#access.flush();
  }

  async #fetchLoop(): Promise<void> {
    let errorMs = 0;
    while (!this.#stopping) {
      if (this.#inFlight.size > this.#lowWater) {
        await this.#waker.sleep(this.#access.pollMs);
        continue;
      }
      const room = Math.min(this.#settings.prefetch - this.#inFlight.size, this.#claimSize);
      const owner = `${this.#token}.${++this.#claims}`;
      let rows: ClaimedRow[];
      try {
        rows = await this.#access.claim(this.#channel, room, owner);
      } catch (error) {
        this.#report(error);
        errorMs = Math.min(Math.max(errorMs * 2, 50), Math.max(this.#access.pollMs, 50), 2_000);
        await this.#waker.sleep(errorMs);
        continue;
      }
      errorMs = 0;
      if (this.#stopping) {
        // Claimed while closing: give them straight back.
        await this.#access
          .unclaim(
            rows.map((row) => row[0]),
            owner,
          )
          .catch((e: unknown) => this.#report(e));
        break;
      }
      if (rows.length === 0) {
        await this.#waker.sleep(await this.#untilDue());
        continue;
      }
      for (const row of rows) this.#slots.add(this.#track(row, owner));
      // A full claim: more rows are probably waiting; claim again as soon as there is room.
      if (rows.length === room) this.#waker.wake();
      // Handlers get the batch in the next turn, after the loop sent its next claim (when there is
      // room for one): the database works on that claim while this batch is handled, instead of
      // the two taking turns. Handlers run in microtasks, so pumping now would run the whole batch
      // before the pool writes the claim.
      this.#pumpSoon();
    }
  }

  #pumpSoon(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#slots.pump();
    });
  }

  /** How long an empty channel is left alone: until its next delayed row or expiring lease, at most the poll interval. */
  async #untilDue(): Promise<number> {
    try {
      const next = await this.#access.nextVisibleIn(this.#channel);
      return next === undefined ? this.#access.pollMs : Math.min(this.#access.pollMs, Math.max(MIN_RETRY_MS, next));
    } catch {
      return this.#access.pollMs;
    }
  }

  #track(row: ClaimedRow, owner: string): ClaimedDelivery<string> {
    const [seq, id, headers, body, key, deliveryCount] = row;
    const message: { id: string; headers: Record<string, string>; body: Uint8Array; key?: string } =
      key === null
        ? { id, headers: parseStoredHeaders(headers), body }
        : { id, headers: parseStoredHeaders(headers), body, key };
    const delivery = new ClaimedDelivery(this, this.#channel, seq, owner, key, deliveryCount, message);
    this.#inFlight.set(seq, delivery);
    return delivery;
  }

  /** See {@link ClaimSink}. Write-behind unless `durableAck`. */
  settleAck(delivery: ClaimedDelivery<string>): Promise<void> {
    const committed = this.#access.ack(delivery.seq);
    if (this.#settings.durableAck) return committed.then(() => this.#settled(delivery), this.#abandon(delivery));
    // A failed delete is reported by the access; the lease expires and the message comes back.
    this.#settled(delivery);
    return SETTLED;
  }

  /** See {@link ClaimSink}. */
  settleNack(delivery: ClaimedDelivery<string>, delayMs: number): Promise<void> {
    return this.#access.release(delivery.seq, delivery.owner, delayMs).then(() => {
      this.#settled(delivery);
      // Due again now: claim it (this process got no NOTIFY for an update).
      if (delayMs === 0) this.#waker.wake();
    }, this.#abandon(delivery));
  }

  /**
   * A settle that failed (the database could not be told): stop renewing the lease and give the
   * handler slot back, so that the message comes back when its lease expires instead of being
   * held forever by a handler that swallowed the error. The settle may still be tried again.
   */
  #abandon(delivery: ClaimedDelivery<string>): (error: unknown) => never {
    return (error) => {
      this.#settled(delivery);
      throw error;
    };
  }

  #settled(delivery: ClaimedDelivery<string>): void {
    delivery.settled = true;
    this.#inFlight.delete(delivery.seq);
    if (this.#inFlight.size <= this.#lowWater) this.#waker.wake();
    this.#slots.free(delivery);
  }

  #renew(): void {
    if (this.#inFlight.size === 0) return;
    const leases = [...this.#inFlight.values()].filter((s) => !s.settled).map((s) => [s.seq, s.owner] as const);
    if (leases.length > 0) this.#access.extend(leases).catch((error: unknown) => this.#report(error));
  }

  #report(error: unknown): void {
    this.#access.onError(
      error instanceof TransportError
        ? error
        : new TransportError(ErrorCode.TransportUnavailable, String(error), { cause: error }),
    );
  }
}
