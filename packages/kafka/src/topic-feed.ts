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
 * to someone else now); the new owner re-reads from the last commit.
 */
export class TopicFeed {
  readonly #spec: FeedSpec;
  #consumer: GroupConsumer | undefined;
  /** Trackers of the current generation, by partition. */
  #trackers = new Map<number, OffsetTracker>();
  #inFlight = 0;
  #paused = false;
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
    this.#consumer = await client.startConsumer({
      groupId: spec.groupId,
      topics: [{ topic: spec.topic, fromBeginning: spec.fromBeginning }],
      partitionsConcurrently: spec.partitionsConcurrently,
      onBatch: (batch, control) => this.#onBatch(batch, control),
      onAssignment: (assignment) => this.#onAssignment(assignment),
    });
    if (this.#closing) this.#consumer.pause(spec.topic, this.#assigned());
  }

  /**
   * Stop dispatching, wait for `drained` (the owner decides how long in-flight
   * work may take), commit what was settled, then leave the group. Records
   * still unsettled are not committed and go to the next owner. Idempotent.
   */
  close(drained: Promise<unknown>): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      this.#consumer?.pause(this.#spec.topic, this.#assigned());
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
    this.#trackers = new Map((assignment[this.#spec.topic] ?? []).map((p) => [p, new OffsetTracker()]));
    this.#generation++;
    this.#toCommit.clear();
    if (this.#closing || this.#paused) this.#consumer?.pause(this.#spec.topic, this.#assigned());
  }

  async #onBatch(batch: IncomingBatch, control: BatchControl): Promise<void> {
    let tracker = this.#trackers.get(batch.partition);
    if (!tracker) {
      tracker = new OffsetTracker();
      this.#trackers.set(batch.partition, tracker);
    }
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

  #settler(tracker: OffsetTracker, partition: number, offset: bigint): Settle {
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      this.#inFlight--;
      this.#spec.budget.release();
      const next = tracker.settle(offset);
      if (next !== undefined && this.#trackers.get(partition) === tracker && !this.#stopped) {
        this.#toCommit.set(partition, next);
        this.#scheduleCommit();
      }
    };
  }

  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#consumer?.pause(this.#spec.topic, this.#assigned());
    this.#spec.budget.whenRoom(() => {
      this.#paused = false;
      if (!this.#closing) this.#consumer?.resume(this.#spec.topic, this.#assigned());
    });
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
