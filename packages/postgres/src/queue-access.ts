import { describeError, ErrorCode, TransportError } from '@switchyard/core/transport';
import type pg from 'pg';
import type { WakeHub } from './listener.js';
import type { ResolvedOptions } from './options.js';
import type { Claim, Statements } from './statements.js';

/** Acked rows waiting for a statement, and the promise of their delete. */
class AckBatch {
  readonly seqs: string[] = [];
  readonly committed: Promise<void>;
  /** Taken by a claim or a flush: later acks start a new batch. */
  taken = false;
  resolve!: () => void;
  reject!: (error: unknown) => void;
  constructor() {
    this.committed = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // Write-behind callers drop the promise; a failure is reported through onError.
    this.committed.catch(() => undefined);
  }
}

/** Most acked rows carried by one statement. */
const MAX_ACKS = 2_000;

/**
 * What the consumers of one transport use, sharing its consumer pool, whose sessions commit
 * with `synchronous_commit = off`: a claim, a lease renewal, a nack or a write-behind ack that a
 * database crash loses only makes its row claimable again, so none of them waits for the WAL
 * flush (only sends must be durable when they resolve).
 *
 * Acks are write-behind by default: the deletes of a batch ride in the statement that claims the
 * next one (one round trip for both), or, when no claim takes them within 20 ms, go out as one
 * DELETE of their own. A failed delete only means the rows come back after their lease
 * (at-least-once), and is reported through `onError`. With `durableAck`, each turn's acks are
 * one DELETE on the durable pool, and `ack` resolves once it committed.
 */
export class QueueAccess {
  readonly leaseMs: number;
  readonly pollMs: number;
  /** Consumers are woken by NOTIFY (the `listen` option); without it only the poll and this process's own events wake them. */
  readonly notified: boolean;
  readonly onError: (error: TransportError) => void;
  readonly #pool: pg.Pool;
  readonly #durablePool: pg.Pool;
  readonly #statements: Statements;
  readonly #hub: WakeHub;
  readonly #durableAck: boolean;
  readonly #ackDelayMs: number;
  #batch: AckBatch | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #flushing = new Set<Promise<void>>();

  /** `pool`: the consumer pool (asynchronous commit); `durablePool`: the transport's pool, for durable acks. */
  constructor(pool: pg.Pool, durablePool: pg.Pool, statements: Statements, hub: WakeHub, options: ResolvedOptions) {
    this.#pool = pool;
    this.#durablePool = durablePool;
    this.#statements = statements;
    this.#hub = hub;
    this.leaseMs = options.leaseMs;
    this.pollMs = options.pollIntervalMs;
    this.notified = options.listen;
    this.onError = options.onError;
    this.#durableAck = options.durableAck;
    this.#ackDelayMs = options.durableAck ? 0 : 20;
  }

  listen(channel: string, wake: () => void): Promise<() => void> {
    return this.#hub.listen(channel, wake);
  }

  /**
   * Delete the pending acks and lease up to `limit` rows of `channel` to `owner`, in one statement;
   * a short claim also says when the next row may be claimed (see {@link Claim}).
   */
  async claim(channel: string, limit: number, owner: string): Promise<Claim> {
    const batch = this.#durableAck ? undefined : this.#take();
    try {
      const claim = await this.#statements.claim(this.#pool, channel, limit, this.leaseMs, owner, batch?.seqs ?? []);
      batch?.resolve();
      return claim;
    } catch (error) {
      // The deletes did not commit either: they go out alone.
      if (batch !== undefined) this.#deleteAlone(batch);
      throw wrap(error, `claim from channel '${channel}' failed`);
    }
  }

  /** Queue the delete of an acked row; resolves once it committed. */
  ack(seq: string): Promise<void> {
    let batch = this.#batch;
    if (batch === undefined) {
      batch = new AckBatch();
      this.#batch = batch;
      const created = batch;
      this.#timer = setTimeout(() => {
        if (this.#batch === created) this.#deleteAlone(this.#take()!);
      }, this.#ackDelayMs);
    }
    batch.seqs.push(seq);
    if (batch.seqs.length >= MAX_ACKS) this.#deleteAlone(this.#take()!);
    return batch.committed;
  }

  /** Send every queued ack now and wait for them (close). */
  async flush(): Promise<void> {
    const batch = this.#take();
    if (batch !== undefined) this.#deleteAlone(batch);
    await Promise.allSettled([...this.#flushing]);
  }

  release(seq: string, owner: string, delayMs: number): Promise<void> {
    return this.#statements
      .release(this.#pool, seq, owner, delayMs)
      .catch((error: unknown) => Promise.reject(wrap(error, 'nack failed')));
  }

  unclaim(seqs: readonly string[], owner: string): Promise<void> {
    return this.#statements
      .unclaim(this.#pool, seqs, owner)
      .catch((error: unknown) => Promise.reject(wrap(error, 'release of unstarted deliveries failed')));
  }

  extend(leases: ReadonlyArray<readonly [seq: string, owner: string]>): Promise<void> {
    return this.#statements
      .extend(this.#pool, leases, this.leaseMs)
      .catch((error: unknown) => Promise.reject(wrap(error, 'lease renewal failed')));
  }

  #take(): AckBatch | undefined {
    const batch = this.#batch;
    if (batch === undefined) return undefined;
    this.#batch = undefined;
    clearTimeout(this.#timer);
    batch.taken = true;
    return batch;
  }

  #deleteAlone(batch: AckBatch): void {
    const pool = this.#durableAck ? this.#durablePool : this.#pool;
    const work = this.#statements.delete(pool, batch.seqs).then(batch.resolve, (error: unknown) => {
      const wrapped = wrap(error, `ack of ${batch.seqs.length} deliveries failed; they come back after their lease`);
      if (!this.#durableAck) this.onError(wrapped);
      batch.reject(wrapped);
    });
    this.#flushing.add(work);
    void work.finally(() => this.#flushing.delete(work));
  }
}

/** A driver error as a TransportError saying what failed. */
export function wrap(error: unknown, what: string, code: ErrorCode = ErrorCode.TransportUnavailable): TransportError {
  if (error instanceof TransportError) return error;
  return new TransportError(code, `${what}: ${describeError(error)}`, { cause: error });
}
