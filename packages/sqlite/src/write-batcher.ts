import { describeError, type ErrorCode, TransportError } from '@switchyard/core/transport';
import type { SqliteDatabase } from './database.js';

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
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

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

  constructor(
    private readonly db: () => SqliteDatabase,
    private readonly maxOps = 1_000,
  ) {}

  /** Queue `op`; resolves when committed, rejects with a TransportError when it could not be. */
  submit(op: WriteOp): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commit everything queued now (also called by close before the connection goes). */
  flush(): void {
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const group = this.#queue.splice(0, this.maxOps);
      this.#commit(group);
    }
  }

  #commit(group: Queued[]): void {
    let db: SqliteDatabase;
    try {
      db = this.db();
    } catch (error) {
      for (const item of group) item.reject(error);
      return;
    }
    try {
      db.transaction(() => {
        for (const item of group) item.op.run();
      }).immediate();
    } catch (error) {
      if (group.length > 1) {
        for (const item of group) this.#commit([item]);
        return;
      }
      const only = group[0]!;
      only.reject(opError(only.op, error));
      return;
    }
    for (const item of group) settle(item);
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
