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
import type { ClaimedRow } from './message-table.js';

/** What a consumer needs from its transport; every method may throw or reject with a TransportError. */
export interface QueueAccess {
  /**
   * Lease up to `limit` rows; `'busy'` when another process holds the write lock right now.
   * `probe`: look first, without a write lock, whether anything is visible (false when the
   * caller just claimed a full batch and expects more).
   */
  claim(channel: string, limit: number, owner: string, probe: boolean): ClaimedRow[] | 'busy';
  nextVisibleAt(channel: string): number | undefined;
  /** Delete an acked row; resolves once committed (without `durableAck`, failures are also reported through onError). */
  ack(seq: number, channel: string, key: string | null): Promise<void>;
  release(seq: number, owner: string, visibleAt: number, unclaim?: boolean): Promise<void>;
  extend(leases: ReadonlyArray<readonly [seq: number, owner: string]>): Promise<void>;
  listen(channel: string, wake: () => void): () => void;
  /** Commit every queued write (write-behind acks included). */
  flush(): Promise<void>;
  readonly leaseMs: number;
  readonly minPollMs: number;
  readonly maxPollMs: number;
  readonly onError: (error: TransportError) => void;
}

/** Settings of one consumer. */
export interface ConsumerSettings {
  readonly concurrency: number;
  readonly prefetch: number;
  /** Ack resolves only once its delete committed (otherwise: once queued for the next group commit). */
  readonly durableAck: boolean;
}

/**
 * One consumer of one channel. A fetch loop claims up to `prefetch` rows in one
 * transaction, hands them to at most `concurrency` handlers, and renews the
 * leases of every claimed, unsettled row every third of the lease, so that only
 * a consumer that died (or hung longer than the lease) loses its messages to
 * redelivery. A handler slot stays taken until its delivery is settled:
 * unsettled deliveries exert backpressure instead of being dropped.
 */
export class SqliteConsumer implements Subscription, ClaimSink<number> {
  readonly #access: QueueAccess;
  readonly #channel: string;
  readonly #settings: ConsumerSettings;
  readonly #token = randomBytes(6).toString('hex');
  readonly #inFlight = new Map<number, ClaimedDelivery<number>>();
  readonly #slots: HandlerSlots<number>;
  readonly #waker = new FetchWaker();
  #claims = 0;
  /** Fetch again once no more than this many claimed rows are unsettled, so that claims stay large. */
  readonly #lowWater: number;
  #stopping = false;
  #loop: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #unlisten: (() => void) | undefined;

  constructor(access: QueueAccess, channel: string, handler: DeliveryHandler, settings: ConsumerSettings) {
    this.#access = access;
    this.#channel = channel;
    this.#settings = settings;
    this.#lowWater = Math.floor(settings.prefetch / 2);
    this.#slots = new HandlerSlots(handler, settings.concurrency, (delivery, error) => {
      this.#report(error);
      // Stop renewing it: its lease expires and it is redelivered.
      delivery.settled = true;
      this.#inFlight.delete(delivery.seq);
    });
  }

  /** Begin fetching. Called once by the transport; a no-op after close. */
  start(): void {
    if (this.#stopping) return;
    this.#unlisten = this.#access.listen(this.#channel, () => this.#waker.wake());
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
    await this.#loop;
    const now = Date.now();
    await Promise.all(this.#slots.takeUnstarted().map((state) => this.#releaseQuietly(state, now, true)));
    await this.#slots.drain(drainTimeoutMs);
    clearInterval(this.#renewTimer);
    const left = [...this.#inFlight.values()].filter((state) => !state.settled);
    await Promise.all(left.map((state) => this.#releaseQuietly(state, Date.now())));
    // Write-behind acks of this subscription are committed before close resolves.
    await this.#access.flush().catch((error: unknown) => this.#report(error));
  }

  async #releaseQuietly(state: ClaimedDelivery<number>, visibleAt: number, unclaim = false): Promise<void> {
    this.#inFlight.delete(state.seq);
    if (state.settled) return;
    state.settled = true;
    try {
      await this.#access.release(state.seq, state.owner, visibleAt, unclaim);
    } catch (error) {
      // The lease will expire and the message come back anyway.
      this.#report(error);
    }
  }

  async #fetchLoop(): Promise<void> {
    let idleMs = 0;
    /** The last claim filled its room: more rows are probably waiting. */
    let full = false;
    while (!this.#stopping) {
      const room = this.#settings.prefetch - this.#inFlight.size;
      if (this.#inFlight.size > this.#lowWater) {
        await this.#waker.sleep(this.#access.maxPollMs);
        continue;
      }
      let rows: ClaimedRow[] | 'busy';
      const owner = `${this.#token}.${++this.#claims}`;
      try {
        rows = this.#access.claim(this.#channel, room, owner, !full);
      } catch (error) {
        this.#report(error);
        idleMs = this.#access.maxPollMs;
        await this.#waker.sleep(idleMs);
        continue;
      }
      if (rows === 'busy') {
        // Another process is writing (probably new messages): try again shortly, without growing the wait.
        await this.#waker.sleep(this.#access.minPollMs);
        continue;
      }
      if (rows.length === 0) {
        full = false;
        idleMs = idleMs === 0 ? this.#access.minPollMs : Math.min(idleMs * 2, this.#access.maxPollMs);
        // A wake-up hint can come before the write that caused it is committed (the WAL grows
        // frame by frame): after a hint, look again soon instead of at the grown interval.
        if (await this.#waker.sleep(this.#untilDue(idleMs))) idleMs = 0;
        continue;
      }
      idleMs = 0;
      full = rows.length === room;
      for (const row of rows) this.#slots.add(this.#track(row, owner));
      this.#slots.pump();
      // Let handlers and settles run before claiming more.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sleep no longer than until the next delayed message or expiring lease becomes visible. */
  #untilDue(ms: number): number {
    try {
      const next = this.#access.nextVisibleAt(this.#channel);
      return next === undefined ? ms : Math.max(0, Math.min(ms, next - Date.now()));
    } catch {
      return ms;
    }
  }

  #track(row: ClaimedRow, owner: string): ClaimedDelivery<number> {
    const [seq, id, headers, body, key, deliveryCount] = row;
    // The driver's Buffer is a Uint8Array: handed over as is, no copy, no view.
    const message: { id: string; headers: Record<string, string>; body: Uint8Array; key?: string } =
      key === null
        ? { id, headers: parseStoredHeaders(headers), body }
        : { id, headers: parseStoredHeaders(headers), body, key };
    const delivery = new ClaimedDelivery(this, this.#channel, seq, owner, key, deliveryCount, message);
    this.#inFlight.set(seq, delivery);
    return delivery;
  }

  /** See {@link ClaimSink}. Write-behind unless `durableAck`: see the transport's `durableAck` option. */
  settleAck(delivery: ClaimedDelivery<number>): Promise<void> {
    const committed = this.#access.ack(delivery.seq, this.#channel, delivery.key);
    if (this.#settings.durableAck) return committed.then(() => this.#settled(delivery));
    // The access reports a failed commit; the lease expires and the message comes back: at-least-once.
    this.#settled(delivery);
    return SETTLED;
  }

  /** See {@link ClaimSink}. */
  settleNack(delivery: ClaimedDelivery<number>, delayMs: number): Promise<void> {
    return this.#access.release(delivery.seq, delivery.owner, Date.now() + delayMs).then(() => this.#settled(delivery));
  }

  #settled(delivery: ClaimedDelivery<number>): void {
    delivery.settled = true;
    this.#inFlight.delete(delivery.seq);
    if (this.#inFlight.size <= this.#lowWater) this.#waker.wake();
    this.#slots.free(delivery);
  }

  #renew(): void {
    if (this.#inFlight.size === 0) return;
    const leases = [...this.#inFlight.values()].filter((s) => !s.settled).map((s) => [s.seq, s.owner] as const);
    this.#access.extend(leases).catch((error: unknown) => this.#report(error));
  }

  #report(error: unknown): void {
    this.#access.onError(
      error instanceof TransportError
        ? error
        : new TransportError(ErrorCode.TransportUnavailable, String(error), { cause: error }),
    );
  }
}
