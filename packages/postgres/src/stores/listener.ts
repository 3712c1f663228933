import pg from 'pg';
import type { StoreConnection } from './connection.js';

/** Longest a `wait` lasts without a notification, so that waiters abandoned by a racing timer do not pile up. */
const MAX_WAIT_MS = 5_000;

/**
 * One LISTEN connection per store, opened on the first wait and reopened by a later wait after a
 * failure: `wait` resolves on the next NOTIFY on `channel`, when the connection breaks (a
 * notification may have been missed), on abort, on close, or after 5 s. A connection that cannot
 * be opened does not wake anyone: callers poll meanwhile. Idempotent `close`.
 */
export class Listener {
  readonly #db: StoreConnection;
  readonly #channel: string;
  readonly #waiters = new Set<() => void>();
  #client: Promise<pg.Client> | undefined;
  #closed = false;

  constructor(db: StoreConnection, channel: string) {
    this.#db = db;
    this.#channel = channel;
  }

  wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), MAX_WAIT_MS);
      timer.unref();
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
      this.#connect().catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeAll();
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.then((c) => c.end()).catch(() => undefined);
  }

  #connect(): Promise<pg.Client> {
    this.#client ??= (async () => {
      await this.#db.ready();
      const client = new pg.Client(this.#db.pool.options);
      const broken = () => {
        if (this.#client === opened) this.#client = undefined;
        client.end().catch(() => undefined);
        this.#wakeAll();
      };
      client.on('error', broken);
      client.on('end', broken);
      client.on('notification', (message) => {
        if (message.channel === this.#channel) this.#wakeAll();
      });
      await client.connect();
      await client.query(`LISTEN "${this.#channel}"`);
      if (this.#closed) await client.end();
      return client;
    })();
    const opened = this.#client;
    opened.catch(() => {
      if (this.#client === opened) this.#client = undefined;
    });
    return opened;
  }

  #wakeAll(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
