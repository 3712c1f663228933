import { ErrorCode, TransportError } from '@switchyard/core/transport';
import type { Assignment, BatchControl, GroupConsumer, IncomingBatch, IncomingRecord, KafkaClient } from './client.js';
import { OffsetTracker } from './offset-tracker.js';

const COMMIT_RETRY_MS = 500;

/** Settles one dispatched record: its offset may then be committed. Idempotent. */
export type Settle = () => void;

/** What a {@link TopicFeed} reads and how it hands records out. */
export interface FeedSpec {
  readonly groupId: string;
  readonly topic: string;
  readonly fromBeginning: boolean;
  /** Shared limit on records dispatched and not yet settled; while it is used up the topic is paused. */
  readonly budget: FlowBudget;
  readonly partitionsConcurrently: number;
  /**
   * Take one record. Must not throw; calls `settle` once the record is done
   * (handled, forwarded or skipped). A record never settled stays uncommitted
   * and comes back after a rebalance or restart.
   */
  dispatch(record: IncomingRecord, partition: number, settle: Settle): void;
}

/**
 * One consumer group member reading one topic, with at-least-once commits:
 * records are dispatched in partition order, and per partition only the
 * highest offset below which every record was settled is committed (see
 * {@link OffsetTracker}). Backpressure pauses the topic while the shared
 * {@link FlowBudget} is used up, keeping the group membership alive (kafkajs
 * keeps heartbeating while paused).
 *
 * A rebalance starts a new generation: records of the old one may still
 * settle, but their offsets are no longer committed (the partition may belong
 * to someone else now); the new owner re-reads from the last commit. A batch
 * is dispatched only when its partition is assigned in the current generation
 * and it continues this member's position (see `#continues`), so a batch
 * fetched under the old generation cannot move a commit past records that are
 * still in flight.
 */
export class TopicFeed {
  readonly #spec: FeedSpec;
  #consumer: GroupConsumer | undefined;
  #client: KafkaClient | undefined;
  /** Trackers of the current generation, by partition. */
  #trackers = new Map<number, OffsetTracker>();
  /** Per partition, the floor of its tracker in the last generation that read it: reading on from there loses nothing. */
  readonly #floors = new Map<number, bigint>();
  #inFlight = 0;
  #paused = false;
  /**
   * Partitions this feed asked the client to pause and not resumed since. The
   * client keeps a pause across assignments, so a resume must name every one
   * of them, not only those assigned now: a partition paused, then taken away
   * by a rebalance and given back later would otherwise never be fetched again.
   */
  readonly #pausedInClient = new Set<number>();
  #closing = false;
  #stopped = false;
  /** Offsets waiting to be committed, by partition. */
  readonly #toCommit = new Map<number, bigint>();
  #committing: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Bumped on every assignment, so a commit that failed in an old generation is not retried in a new one. */
  #generation = 0;
  #closed: Promise<void> | undefined;

  constructor(spec: FeedSpec) {
    this.#spec = spec;
  }

  /** Records dispatched and not settled, across generations. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Join the group and start fetching; resolves once the first assignment arrived. */
  async start(client: KafkaClient): Promise<void> {
    const spec = this.#spec;
    this.#client = client;
    this.#consumer = await client.startConsumer({
      groupId: spec.groupId,
      topics: [{ topic: spec.topic, fromBeginning: spec.fromBeginning }],
      partitionsConcurrently: spec.partitionsConcurrently,
      onBatch: (batch, control) => this.#onBatch(batch, control),
      onAssignment: (assignment) => this.#onAssignment(assignment),
      onPassed: (_topic, partition, offset) => this.#onPassed(partition, BigInt(offset)),
    });
    if (this.#closing) this.#pauseAssigned();
  }

  /**
   * Stop dispatching, wait for `drained` (the owner decides how long in-flight
   * work may take), commit what was settled, then leave the group. Records
   * still unsettled are not committed and go to the next owner. Idempotent.
   */
  close(drained: Promise<unknown>): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      this.#pauseAssigned();
      await drained;
      await this.#flush();
      this.#stopped = true;
      clearTimeout(this.#retryTimer);
      await this.#consumer?.stop();
    })();
    return this.#closed;
  }

  #assigned(): number[] {
    return [...this.#trackers.keys()];
  }

  #onAssignment(assignment: Assignment): void {
    // Old trackers are dropped: their records may still settle but commit nothing.
    for (const [partition, tracker] of this.#trackers) {
      const floor = tracker.floor;
      if (floor !== undefined) this.#floors.set(partition, floor);
    }
    this.#trackers = new Map((assignment[this.#spec.topic] ?? []).map((p) => [p, new OffsetTracker()]));
    this.#generation++;
    this.#toCommit.clear();
    if (this.#closing || this.#paused) this.#pauseAssigned();
  }

  async #onBatch(batch: IncomingBatch, control: BatchControl): Promise<void> {
    const tracker = this.#trackers.get(batch.partition);
    // Not assigned in this generation: fetched before a rebalance took the partition away.
    if (!tracker) return;
    if (!(await this.#continues(batch, tracker))) return;
    if (this.#trackers.get(batch.partition) !== tracker) return;
    for (const record of batch.records) {
      if (this.#closing || !control.isActive()) return;
      if (!this.#spec.budget.tryTake()) {
        this.#pause();
        return;
      }
      const offset = BigInt(record.offset);
      tracker.dispatch(offset);
      control.markTaken(record.offset);
      this.#inFlight++;
      this.#spec.dispatch(record, batch.partition, this.#settler(tracker, batch.partition, offset));
    }
  }

  /**
   * True when `batch` may go into `tracker`: it starts at or below this
   * member's position for the partition (overlaps only redeliver). kafkajs can
   * rejoin inside one broker's fetch while a batch that another broker's fetch
   * returned under the old generation still waits for a worker; that batch
   * starts at the old position, past records of the old generation that may be
   * in flight and uncommitted, and dispatching it would let the new tracker
   * commit past them (lost on the next close or crash). A batch ahead of the
   * position is taken only when the group committed that far (another member
   * read it, or the client reset an out-of-range position); otherwise it is
   * dropped, nothing of it marked taken, and the partition is sought back to
   * the highest offset below which nothing can be lost.
   */
  async #continues(batch: IncomingBatch, tracker: OffsetTracker): Promise<boolean> {
    const { partition } = batch;
    const fetched = BigInt(batch.fetchedOffset);
    const expected = tracker.next ?? this.#floors.get(partition);
    if (expected === undefined || fetched <= expected) return true;
    let committed: bigint;
    try {
      const offsets = await (this.#client as KafkaClient).committedOffsets(this.#spec.groupId, this.#spec.topic);
      committed = offsets.get(partition) ?? -1n;
    } catch {
      return false; // unknown: the next fetch asks again
    }
    if (fetched <= committed) return true;
    const floor = tracker.floor ?? this.#floors.get(partition) ?? committed;
    const target = committed > floor ? committed : floor;
    if (target >= 0n && this.#trackers.get(partition) === tracker && !this.#closing) {
      this.#consumer?.seek(this.#spec.topic, partition, target.toString());
    }
    return false;
  }

  /** The client skipped records up to `offset` (control records): they count as settled. */
  #onPassed(partition: number, offset: bigint): void {
    const tracker = this.#trackers.get(partition);
    if (!tracker) return;
    tracker.dispatch(offset);
    this.#commitIfMoved(tracker, partition, tracker.settle(offset));
  }

  #commitIfMoved(tracker: OffsetTracker, partition: number, next: bigint | undefined): void {
    if (next !== undefined && this.#trackers.get(partition) === tracker && !this.#stopped) {
      this.#toCommit.set(partition, next);
      this.#scheduleCommit();
    }
  }

  #settler(tracker: OffsetTracker, partition: number, offset: bigint): Settle {
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      this.#inFlight--;
      this.#spec.budget.release();
      this.#commitIfMoved(tracker, partition, tracker.settle(offset));
    };
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#pauseAssigned();
    this.#spec.budget.whenRoom(() => {
      this.#paused = false;
      if (this.#closing || this.#pausedInClient.size === 0) return;
      const partitions = [...this.#pausedInClient];
      this.#pausedInClient.clear();
      this.#consumer?.resume(this.#spec.topic, partitions);
    });
  }

  #pauseAssigned(): void {
    const partitions = this.#assigned();
    for (const partition of partitions) this.#pausedInClient.add(partition);
    this.#consumer?.pause(this.#spec.topic, partitions);
  }

  /** One commit in flight at a time; settles during it are folded into the next. */
  #scheduleCommit(): void {
    if (this.#committing) return;
    this.#committing = (async () => {
      while (this.#toCommit.size > 0 && this.#consumer) {
        const pending = [...this.#toCommit];
        const generation = this.#generation;
        this.#toCommit.clear();
        try {
          await this.#consumer.commit(
            pending.map(([partition, offset]) => ({ topic: this.#spec.topic, partition, offset: offset.toString() })),
          );
        } catch {
          // Not committed yet, not lost: keep the offsets for a later attempt unless a rebalance made them void.
          if (generation === this.#generation) {
            for (const [partition, offset] of pending)
              if (!this.#toCommit.has(partition)) this.#toCommit.set(partition, offset);
          }
          if (!this.#stopped && this.#toCommit.size > 0 && !this.#retryTimer) {
            this.#retryTimer = setTimeout(() => {
              this.#retryTimer = undefined;
              this.#scheduleCommit();
            }, COMMIT_RETRY_MS);
            this.#retryTimer.unref();
          }
          return;
        }
      }
    })().finally(() => {
      this.#committing = undefined;
    });
  }

  async #flush(): Promise<void> {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#committing;
    if (this.#toCommit.size > 0) {
      this.#scheduleCommit();
      await this.#committing;
    }
  }
}

/**
 * A counter of unsettled records shared by the feeds of one consumer, so
 * `prefetch` bounds them together. Not reentrant across processes.
 */
export class FlowBudget {
  readonly #limit: number;
  #used = 0;
  #waiters: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Take one unit if any is left. */
  tryTake(): boolean {
    if (this.#used >= this.#limit) return false;
    this.#used++;
    return true;
  }

  /** Give one unit back and wake those waiting for room. */
  release(): void {
    this.#used--;
    if (this.#waiters.length === 0 || this.#used >= this.#limit) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Call `wake` once there is room again (at once if there is now). */
  whenRoom(wake: () => void): void {
    if (this.#used < this.#limit) wake();
    else this.#waiters.push(wake);
  }
}

/** The error a settle gets once its consumer is gone. */
export function closedError(channel: string): TransportError {
  return new TransportError(
    ErrorCode.Closed,
    `kafka: the consumer of channel '${channel}' is closed; the message will be redelivered`,
  );
}
