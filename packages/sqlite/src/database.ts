import { describeError, ErrorCode, TransportError } from '@switchyard/core/transport';
import Database from 'better-sqlite3';

/** A better-sqlite3 connection, as the stores and the transport accept it. */
export type SqliteDatabase = Database.Database;

/** A transaction function of the driver (`db.transaction(fn)`). */
export type Transaction<F extends (...args: never[]) => unknown> = Database.Transaction<F>;

/** A prepared statement of the driver. */
export type Statement = Database.Statement;

/** Where a store or transport keeps its tables: a file path (opened and owned) or an open connection (borrowed). */
export type DatabaseSource = string | SqliteDatabase;

/** Default time a connection waits for another process's write lock before failing. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/**
 * Open `path` for concurrent use by several processes: WAL journal (readers
 * never block the writer), synchronous=NORMAL (a commit is durable against a
 * process crash; against power loss the last commits before a checkpoint may
 * roll back), and a busy timeout so that short lock waits do not fail.
 * Throws a TransportError (`SY_TRANSPORT_UNAVAILABLE`) when the file cannot be opened.
 */
export function openDatabase(path: string, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS): SqliteDatabase {
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    configure(db);
    return db;
  } catch (error) {
    db?.close();
    throw new TransportError(
      ErrorCode.TransportUnavailable,
      `cannot open SQLite database '${path}': ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** Apply the pragmas every Switchyard connection needs; safe on a connection the application opened. */
export function configure(db: SqliteDatabase): void {
  if (!db.memory) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
}

/**
 * Resolve a {@link DatabaseSource}: a path is opened (and owned: the caller
 * closes it), a connection is borrowed as is (the caller must not close it).
 */
export function resolveDatabase(
  source: DatabaseSource,
  busyTimeoutMs?: number,
): { db: SqliteDatabase; owned: boolean } {
  if (typeof source === 'string') return { db: openDatabase(source, busyTimeoutMs), owned: true };
  return { db: source, owned: false };
}

/** Run `work`, wrapping any driver error in a TransportError with `code` and `what` in the message. */
export function guard<T>(code: ErrorCode, what: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof TransportError) throw error;
    throw new TransportError(code, `${what}: ${describeError(error)}`, { cause: error });
  }
}

/**
 * Longest time one transaction of the transport blocks the event loop waiting
 * for another process's write lock (see {@link retryBusy}). Longer waits are
 * retried asynchronously, so that handlers keep running while another process
 * writes, and so that waits do not escalate to SQLite's 10–100 ms back-off steps.
 */
export const BUSY_SLICE_MS = 2;

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/**
 * Run `transaction` (a `BEGIN IMMEDIATE` one), retrying it while another
 * connection holds the write lock, for at most `sliceMs`; then the busy error is
 * thrown. The connection's own busy timeout is 0: SQLite's busy handler sleeps
 * in whole milliseconds (1, 2, 5, …), which leaves the lock idle most of the
 * time when the other writer's transactions take a fraction of a millisecond;
 * this waits ~0.1 ms between attempts. A busy transaction ran nothing (it
 * failed on BEGIN, or was rolled back), so running it again is safe.
 */
export function retryBusy<T>(sliceMs: number, transaction: () => T): T {
  let deadline: number | undefined;
  for (;;) {
    try {
      return transaction();
    } catch (error) {
      if (!isBusy(error)) throw error;
      const now = performance.now();
      deadline ??= now + sliceMs;
      if (now >= deadline) throw error;
      Atomics.wait(SLEEPER, 0, 0, 0.05);
    }
  }
}

/** True when `error` (or its cause) is SQLite's "database is locked" by another connection. */
export function isBusy(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 3; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Run `work` with the connection's busy timeout raised to `ms` (for rare, synchronous writes such as schema changes). */
export function withBusyTimeout<T>(db: SqliteDatabase, ms: number, work: () => T): T {
  const previous = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${Math.floor(ms)}`);
  try {
    return work();
  } finally {
    db.pragma(`busy_timeout = ${previous}`);
  }
}

/** True when `db` is an open better-sqlite3 connection (duck-typed, so that another copy of the driver works too). */
export function isDatabase(value: unknown): value is SqliteDatabase {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { prepare?: unknown }).prepare === 'function' &&
    typeof (value as { transaction?: unknown }).transaction === 'function'
  );
}
