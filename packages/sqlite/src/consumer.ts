import {
  type ClaimedDelivery,
  ClaimingConsumer,
  type ClaimingSettings,
  type DeliveryHandler,
  type LeaseAccess,
  SETTLED,
} from '@switchyard/core/transport';
import type { ClaimedRow } from './message-table.js';

/** What a consumer needs from its transport; every method may throw or reject with a TransportError. */
export interface QueueAccess extends LeaseAccess<number> {
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
  listen(channel: string, wake: () => void): () => void;
  /** Commit every queued write (write-behind acks included). */
  flush(): Promise<void>;
  readonly minPollMs: number;
  readonly maxPollMs: number;
}

/** Settings of one consumer (`durableAck`: otherwise an ack resolves once queued for the next group commit). */
export type ConsumerSettings = ClaimingSettings;

/**
 * One consumer of one channel (see {@link ClaimingConsumer} for slots, leases and close). A fetch
 * loop claims up to `prefetch` rows in one transaction whenever at most half of them are
 * unsettled, and sleeps while the channel is empty until a wake-up hint, a settle, the next
 * delayed row or a poll interval that grows while nothing comes.
 */
export class SqliteConsumer extends ClaimingConsumer<number> {
  readonly #access: QueueAccess;

  constructor(access: QueueAccess, channel: string, handler: DeliveryHandler, settings: ConsumerSettings) {
    super(access, channel, handler, settings);
    this.#access = access;
  }

  /** Begin fetching. Called once by the transport; a no-op after close. */
  start(): void {
    if (this.stopping) return;
    this.run(this.#access.listen(this.channel, () => this.waker.wake()));
  }

  protected async giveBack(deliveries: ClaimedDelivery<number>[], unstarted: boolean): Promise<void> {
    const now = Date.now();
    await Promise.all(
      deliveries.map((state) =>
        this.#access.release(state.seq, state.owner, now, unstarted).catch((error: unknown) => this.report(error)),
      ),
    );
  }

  protected flush(): Promise<void> {
    return this.#access.flush().catch((error: unknown) => this.report(error));
  }

  protected async fetchLoop(): Promise<void> {
    let idleMs = 0;
    /** The last claim filled its room: more rows are probably waiting. */
    let full = false;
    while (!this.stopping) {
      const room = this.settings.prefetch - this.inFlight.size;
      if (this.inFlight.size > this.lowWater) {
        await this.waker.sleep(this.#access.maxPollMs);
        continue;
      }
      let rows: ClaimedRow[] | 'busy';
      const owner = this.nextOwner();
      try {
        rows = this.#access.claim(this.channel, room, owner, !full);
      } catch (error) {
        this.report(error);
        idleMs = this.#access.maxPollMs;
        await this.waker.sleep(idleMs);
        continue;
      }
      if (rows === 'busy') {
        // Another process is writing (probably new messages): try again shortly, without growing the wait.
        await this.waker.sleep(this.#access.minPollMs);
        continue;
      }
      if (rows.length === 0) {
        full = false;
        idleMs = idleMs === 0 ? this.#access.minPollMs : Math.min(idleMs * 2, this.#access.maxPollMs);
        // A wake-up hint can come before the write that caused it is committed (the WAL grows
        // frame by frame): after a hint, look again soon instead of at the grown interval.
        if (await this.waker.sleep(this.#untilDue(idleMs))) idleMs = 0;
        continue;
      }
      idleMs = 0;
      full = rows.length === room;
      for (const row of rows) this.slots.add(this.track(row, owner));
      this.slots.pump();
      // Let handlers and settles run before claiming more.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sleep no longer than until the next delayed message or expiring lease becomes visible. */
  #untilDue(ms: number): number {
    try {
      const next = this.#access.nextVisibleAt(this.channel);
      return next === undefined ? ms : Math.max(0, Math.min(ms, next - Date.now()));
    } catch {
      return ms;
    }
  }

  /** See {@link ClaimSink}. Write-behind unless `durableAck`: see the transport's `durableAck` option. */
  settleAck(delivery: ClaimedDelivery<number>): Promise<void> {
    const committed = this.#access.ack(delivery.seq, this.channel, delivery.key);
    if (this.settings.durableAck) return committed.then(() => this.settled(delivery));
    // The access reports a failed commit; the lease expires and the message comes back: at-least-once.
    this.settled(delivery);
    return SETTLED;
  }

  /** See {@link ClaimSink}. */
  settleNack(delivery: ClaimedDelivery<number>, delayMs: number): Promise<void> {
    return this.#access.release(delivery.seq, delivery.owner, Date.now() + delayMs).then(() => this.settled(delivery));
  }
}
