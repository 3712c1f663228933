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
  /** Offsets dispatched, in order, from `#head` on: the settle frontier walks along it once (O(1) per offset). */
  #order: bigint[] = [];
  #head = 0;
  /** Lowest and highest offset dispatched so far. */
  #low: bigint | undefined;
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

  /** The position after the highest dispatched offset, or undefined before the first dispatch. */
  get next(): bigint | undefined {
    return this.#high === undefined ? undefined : this.#high + 1n;
  }

  /**
   * An offset below which this tracker saw every record settled or never took
   * part: the committable offset, else the first dispatched one. Reading on
   * from it loses nothing that this tracker was given.
   */
  get floor(): bigint | undefined {
    return this.#committable ?? this.#low;
  }

  /**
   * Record that `offset` was dispatched. A partition's offsets must be
   * dispatched in increasing order, as Kafka returns them; gaps are fine. A
   * repeated or lower offset is ignored.
   */
  dispatch(offset: bigint): void {
    if (this.#high !== undefined && offset <= this.#high) return;
    this.#high = offset;
    this.#low ??= offset;
    this.#pending.add(offset);
    this.#order.push(offset);
  }

  /**
   * Record that `offset` was settled (acked, or nacked and re-produced).
   * Returns the new committable offset when it moved forward, else undefined.
   * Settling an unknown or already settled offset is a no-op.
   */
  settle(offset: bigint): bigint | undefined {
    if (!this.#pending.delete(offset)) return undefined;
    const order = this.#order;
    if (offset !== order[this.#head]) return undefined;
    // Everything below the lowest pending offset is settled; with none pending, all up to the highest is.
    let head = this.#head + 1;
    while (head < order.length && !this.#pending.has(order[head] as bigint)) head++;
    const lowest = order[head];
    if (head === order.length) {
      this.#order = [];
      this.#head = 0;
    } else if (head > 1024 && head * 2 > order.length) {
      this.#order = order.slice(head);
      this.#head = 0;
    } else {
      this.#head = head;
    }
    this.#committable = lowest ?? (this.#high ?? offset) + 1n;
    return this.#committable;
  }
}
