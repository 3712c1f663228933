import { describeError, type ErrorCode, TransportError } from '@switchyard/core/transport';
import { BUSY_SLICE_MS, isBusy, retryBusy, type SqliteDatabase, type Transaction } from './database.js';

/** One write: runs inside a transaction; `after` runs once it committed. */
export interface WriteOp {
  readonly run: () => void;
  readonly after?: () => void;
  /** Error code used when this op fails. */
  readonly code: ErrorCode;
  readonly what: string;
}

interface Queued {
  readonly op: WriteOp;
  /** When the op first met a lock held by another process. */
  busySince?: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Runs a group of ops, then `work`, in one transaction; returns what `work` returned. */
type GroupTransaction = Transaction<(group: Queued[], work: (() => unknown) | undefined) => unknown>;

/**
 * Group commit: writes submitted during one turn of the event loop (sends,
 * publishes, acks, nacks from many concurrent tasks) commit together in one
 * `BEGIN IMMEDIATE` transaction, so a burst of single-message operations costs
 * one lock acquisition and one WAL append instead of one each.
 *
 * Each promise resolves only after its op's transaction committed. When the
 * grouped transaction fails, every op is retried in its own transaction so that
 * one bad op fails alone. Not shared across connections.
 */
export class WriteBatcher {
  #queue: Queued[] = [];
  #scheduled = false;

  #retry: NodeJS.Timeout | undefined;
  /** The driver's transaction wrapper, made once per connection (making one costs more than running it). */
  #txn: { db: SqliteDatabase; run: GroupTransaction } | undefined;

  /**
   * `busyTimeoutMs`: how long ops keep being retried (every millisecond or so,
   * without blocking the event loop) while another process holds the write lock.
   */
  constructor(
    private readonly db: () => SqliteDatabase,
    private readonly busyTimeoutMs: number,
    /** Longest a transaction blocks the event loop waiting for the lock before it is retried asynchronously. */
    private readonly sliceMs = Math.min(BUSY_SLICE_MS, busyTimeoutMs),
    private readonly maxOps = 1_000,
  ) {}

  /** Queue `op`; resolves when committed, rejects with a TransportError when it could not be. */
  submit(op: WriteOp): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Commit everything queued now (also called by close before the connection goes). */
  flush(): void {
    this.#scheduled = false;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.maxOps);
      if (!this.#commit(group)) return;
    }
  }

  /**
   * Run `work` in one `BEGIN IMMEDIATE` transaction together with the ops
   * queued now, which then commit with it (and settle once it committed), and
   * return its result: a consumer's claim carries the writes of the previous
   * turn instead of leaving them a transaction of their own. When that
   * transaction fails, nothing of it committed: the ops go back to the head of
   * the queue for the scheduled flush, which retries them (alone if need be),
   * and, unless the lock was busy, `work` is tried once more alone, so that a
   * bad op never fails the claim. The driver's error is thrown (a busy lock
   * included) when `work` itself cannot commit.
   */
  commitWith<T>(work: () => T): T {
    const db = this.db();
    const group = this.#queue.splice(0, this.maxOps);
    const transaction = this.#transaction(db);
    let result: T;
    try {
      result = retryBusy(this.sliceMs, () => transaction.immediate(group, work)) as T;
    } catch (error) {
      if (group.length === 0) throw error;
      this.#queue.unshift(...group);
      this.#schedule();
      if (isBusy(error)) throw error;
      return retryBusy(this.sliceMs, () => transaction.immediate([], work)) as T;
    }
    for (const item of group) settle(item);
    return result;
  }

  #transaction(db: SqliteDatabase): GroupTransaction {
    if (this.#txn?.db !== db) {
      const run = db.transaction((group: Queued[], work: (() => unknown) | undefined) => {
        for (const item of group) item.op.run();
        return work?.();
      });
      this.#txn = { db, run };
    }
    return this.#txn.run;
  }

  /** Commit everything queued now, waiting (asynchronously) for other processes' locks; for close. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0) {
      this.flush();
      if (this.#queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** False when the group met another process's lock and was put back to retry shortly (order kept). */
  #commit(group: Queued[]): boolean {
    let db: SqliteDatabase;
    try {
      db = this.db();
    } catch (error) {
      for (const item of group) item.reject(error);
      return true;
    }
    try {
      const transaction = this.#transaction(db);
      retryBusy(this.sliceMs, () => transaction.immediate(group, undefined));
    } catch (error) {
      if (isBusy(error) && this.#requeue(group)) return false;
      if (group.length > 1) {
        for (const [index, item] of group.entries()) {
          if (!this.#commit([item])) {
            // `item` went back to the head of the queue; the rest of the group follows it, in order.
            this.#queue.splice(1, 0, ...group.slice(index + 1));
            return false;
          }
        }
        return true;
      }
      const only = group[0]!;
      only.reject(opError(only.op, error));
      return true;
    }
    for (const item of group) settle(item);
    return true;
  }

  /** Put `group` back at the head of the queue and retry in a millisecond, unless its busy budget is spent. */
  #requeue(group: Queued[]): boolean {
    const now = Date.now();
    const first = group[0]!;
    first.busySince ??= now;
    if (now - first.busySince >= this.busyTimeoutMs) return false;
    this.#queue.unshift(...group);
    this.#retry ??= setTimeout(() => this.flush(), 1);
    return true;
  }
}

function settle(item: Queued): void {
  try {
    item.op.after?.();
  } catch {
    // A wake-up hint failing must not turn a committed write into a failure.
  }
  item.resolve();
}

/** Wrap a driver error for an op. */
export function opError(op: WriteOp, error: unknown): TransportError {
  if (error instanceof TransportError) return error;
  return new TransportError(op.code, `${op.what}: ${describeError(error)}`, { cause: error });
}
