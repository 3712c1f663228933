import {
  type ClaimedDelivery,
  ClaimingConsumer,
  type ClaimingSettings,
  type DeliveryHandler,
  SETTLED,
} from '@switchyard/core/transport';
import type { QueueAccess } from './queue-access.js';
import type { Claim } from './statements.js';

/** Settings of one consumer. */
export type ConsumerSettings = ClaimingSettings;

/** Shortest wait before claiming again when a claimable row was taken by a concurrent claim. */
const MIN_RETRY_MS = 5;

/**
 * One consumer of one channel (see {@link ClaimingConsumer} for slots, leases and close). A fetch
 * loop claims up to half of `prefetch` rows in one statement (which also deletes the rows acked
 * since the last one) whenever at most half of `prefetch` are unsettled, so that the next batch is
 * claimed while the previous one is handled (a batch goes to the handlers only after the next
 * claim was sent) and at most `prefetch` rows are leased at once. Once a claim took fewer rows
 * than it asked for, it sleeps until a NOTIFY, a settle, the next delayed row or expiring lease
 * (the claim's own answer says when) or the fallback poll wakes it.
 */
export class PostgresConsumer extends ClaimingConsumer<string> {
  readonly #access: QueueAccess;
  /** Rows per claim: half the prefetch, so that the next claim runs while the previous one is handled. */
  readonly #claimSize: number;
  #pumpScheduled = false;
  /** The fetch loop sleeps until settles make room for a claim (not on a drained channel). */
  #waitingForRoom = false;

  constructor(access: QueueAccess, channel: string, handler: DeliveryHandler, settings: ConsumerSettings) {
    super(access, channel, handler, settings);
    this.#access = access;
    this.#claimSize = Math.ceil(settings.prefetch / 2);
  }

  /** Begin fetching; resolves once the wake-up LISTEN is in place. A no-op after close. */
  async start(): Promise<void> {
    if (this.stopping) return;
    const unlisten = await this.#access.listen(this.channel, () => this.waker.wake());
    if (this.stopping) {
      unlisten();
      return;
    }
    this.run(unlisten);
  }

  protected async giveBack(deliveries: ClaimedDelivery<string>[], unstarted: boolean): Promise<void> {
    if (unstarted) {
      // Never handled: one unclaim per claim, which also undoes their delivery count.
      const byOwner = new Map<string, string[]>();
      for (const state of deliveries) byOwner.set(state.owner, [...(byOwner.get(state.owner) ?? []), state.seq]);
      await Promise.all(
        [...byOwner].map(([owner, seqs]) => this.#access.unclaim(seqs, owner).catch((e: unknown) => this.report(e))),
      );
      return;
    }
    await Promise.all(
      deliveries.map((state) => this.#access.release(state.seq, state.owner, 0).catch((e: unknown) => this.report(e))),
    );
  }

  protected flush(): Promise<void> {
    return this.#access.flush();
  }

  protected async fetchLoop(): Promise<void> {
    let errorMs = 0;
    while (!this.stopping) {
      if (this.inFlight.size > this.lowWater) {
        this.#waitingForRoom = true;
        await this.waker.sleep(this.#access.pollMs);
        this.#waitingForRoom = false;
        continue;
      }
      const room = Math.min(this.settings.prefetch - this.inFlight.size, this.#claimSize);
      const owner = this.nextOwner();
      let claim: Claim;
      try {
        claim = await this.#access.claim(this.channel, room, owner);
      } catch (error) {
        this.report(error);
        errorMs = Math.min(Math.max(errorMs * 2, 50), Math.max(this.#access.pollMs, 50), 2_000);
        await this.waker.sleep(errorMs);
        continue;
      }
      errorMs = 0;
      const rows = claim.rows;
      if (this.stopping) {
        // Claimed while closing: give them straight back.
        await this.#access
          .unclaim(
            rows.map((row) => row[0]),
            owner,
          )
          .catch((e: unknown) => this.report(e));
        break;
      }
      for (const row of rows) this.slots.add(this.track(row, owner));
      // Handlers get the batch in the next turn, after the loop sent its next claim (when there is
      // room for one): the database works on that claim while this batch is handled, instead of
      // the two taking turns. Handlers run in microtasks, so pumping now would run the whole batch
      // before the pool writes the claim.
      if (rows.length > 0) this.#pumpSoon();
      // A full claim: more rows are probably waiting; claim again as soon as there is room.
      if (rows.length === room) continue;
      // A short one took all there was: sleep until a NOTIFY, a settle, or the next row's time,
      // rather than claim once more to find nothing and then ask when to look again (three round
      // trips per wake-up at low load instead of one). Rows claimable now that a concurrent claim
      // was taking: claim again, at once if this claim got some, after a short wait if it got none.
      const claimableNow = claim.nextIn !== undefined && claim.nextIn <= 0;
      if (rows.length === 0 || !claimableNow) await this.waker.sleep(this.#untilDue(claim.nextIn));
    }
  }

  #pumpSoon(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.slots.pump();
    });
  }

  /** How long an empty channel is left alone: until its next delayed row or expiring lease, at most the poll interval. */
  #untilDue(nextIn: number | undefined): number {
    return nextIn === undefined ? this.#access.pollMs : Math.min(this.#access.pollMs, Math.max(MIN_RETRY_MS, nextIn));
  }

  /**
   * A settle wakes the loop when it waits for room, or when the row had a key: deleting it makes
   * the next row of its key claimable, and no NOTIFY says so. On a drained channel an unkeyed ack
   * would only wake it to claim nothing, since a NOTIFY announces new rows; the ack's delete goes
   * out with the next claim or alone after its short delay. Without LISTEN (`listen: false`) every
   * settle still wakes it: a busy consumer then finds new rows at its handlers' pace, not its poll's.
   */
  protected override wakesOnSettle(delivery: ClaimedDelivery<string>): boolean {
    return this.#waitingForRoom || delivery.key !== null || !this.#access.notified;
  }

  /** See {@link ClaimSink}. Write-behind unless `durableAck`. */
  settleAck(delivery: ClaimedDelivery<string>): Promise<void> {
    const committed = this.#access.ack(delivery.seq);
    if (this.settings.durableAck) return committed.then(() => this.settled(delivery), this.#abandon(delivery));
    // A failed delete is reported by the access; the lease expires and the message comes back.
    this.settled(delivery);
    return SETTLED;
  }

  /** See {@link ClaimSink}. */
  settleNack(delivery: ClaimedDelivery<string>, delayMs: number): Promise<void> {
    return this.#access.release(delivery.seq, delivery.owner, delayMs).then(() => {
      this.settled(delivery);
      // Due again now or later, and no NOTIFY says so: the next claim takes it, or says when it is due.
      this.waker.wake();
    }, this.#abandon(delivery));
  }

  /**
   * A settle that failed (the database could not be told): stop renewing the lease and give the
   * handler slot back, so that the message comes back when its lease expires instead of being
   * held forever by a handler that swallowed the error. The settle may still be tried again.
   */
  #abandon(delivery: ClaimedDelivery<string>): (error: unknown) => never {
    return (error) => {
      this.settled(delivery);
      throw error;
    };
  }
}
