/**
 * Tracks the offsets of one partition that were handed out and settled, so
 * the consumer commits only the highest offset below which every message was
 * settled. Acks arrive out of order when several deliveries of a partition run
 * at once; a message still in flight holds the commit back, so a crash or a
 * rebalance redelivers it (and possibly some settled ones after it) but never
 * skips it.
 *
 * Offsets are bigint because Kafka offsets are int64. Per-consumer state: it
 * is neither shared across processes nor across group generations.
 */
export class OffsetTracker {
  /** Offsets dispatched and not yet settled. */
  readonly #pending = new Set<bigint>();
  /** Lowest pending offset; undefined when none are pending. */
  #low: bigint | undefined;
  /** Highest offset dispatched so far. */
  #high: bigint | undefined;
  #committable: bigint | undefined;

  /** Deliveries dispatched and not yet settled. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** The offset to commit now (Kafka's "next offset to read"), or undefined before the first settle. */
  get committable(): bigint | undefined {
    return this.#committable;
  }

  /**
   * Record that `offset` was dispatched. A partition's offsets must be
   * dispatched in increasing order, as Kafka returns them; gaps are fine. A
   * repeated or lower offset is ignored.
   */
  dispatch(offset: bigint): void {
    if (this.#high !== undefined && offset <= this.#high) return;
    this.#high = offset;
    this.#pending.add(offset);
    if (this.#low === undefined) this.#low = offset;
  }

  /**
   * Record that `offset` was settled (acked, or nacked and re-produced).
   * Returns the new committable offset when it moved forward, else undefined.
   * Settling an unknown or already settled offset is a no-op.
   */
  settle(offset: bigint): bigint | undefined {
    if (!this.#pending.delete(offset)) return undefined;
    if (offset !== this.#low) return undefined;
    let lowest: bigint | undefined;
    for (const pending of this.#pending) if (lowest === undefined || pending < lowest) lowest = pending;
    this.#low = lowest;
    // Everything below the lowest pending offset is settled; with none pending, all up to the highest is.
    this.#committable = lowest ?? (this.#high ?? offset) + 1n;
    return this.#committable;
  }
}
