import { type ConnectionState, ErrorCode, redact, TransportError } from '@switchyard/core/transport';
import { Redis } from 'ioredis';
import { wrapError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** `ping()` answers within this bound, whatever the network does. */
const PING_TIMEOUT_MS = 2_000;

/** `quit()` gives the server this long to answer QUIT before the socket is dropped. */
const QUIT_TIMEOUT_MS = 2_000;

/**
 * The transport's command connection: one ioredis client, shared by sends,
 * publishes, acks, provisioning, stats and the stores the transport hands out
 * (each consumer blocks on a duplicate of its own). Opened on first use, never
 * by the constructor; ioredis reconnects by itself and re-sends what was
 * queued meanwhile (sends stay idempotent through their marker keys).
 *
 * State changes go to the listeners of {@link watch}. Closing takes two steps,
 * so that in-flight work can finish in between: {@link markClosed} refuses new
 * use ({@link get} then throws `SY_CLOSED`) and silences the listeners, while
 * the client itself stays usable through {@link forFlush}; {@link quit} ends it.
 * Both are idempotent. One per transport.
 */
export class CommandConnection {
  readonly #options: ResolvedOptions;
  readonly #watchers = new Set<(state: ConnectionState) => void>();
  #conn: Redis | undefined;
  #closed = false;
  /** The server address without password, for messages and connection states. */
  readonly endpoint: string;

  /** No I/O. */
  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.endpoint = redact(options.url);
  }

  /** The client, created on the first call. Throws `SY_CLOSED` after {@link markClosed}. */
  get(): Redis {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, 'redis transport is closed');
    return this.#conn ?? this.#open();
  }

  /**
   * The client for a batch flushed after the call that queued it returned: the
   * open one even after {@link markClosed} (a batch flushed while close() waits
   * for it still goes out), otherwise as {@link get}.
   */
  forFlush(): Redis {
    return this.#conn ?? this.get();
  }

  /**
   * Reports the client's changes as ioredis sees them: `connected` on ready,
   * `disconnected` when it closes, `retrying` with ioredis' backoff before each
   * reconnect attempt, until the returned function is called or the connection
   * is marked closed. A listener that throws is ignored.
   */
  watch(listener: (state: ConnectionState) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  /**
   * Resolves when the server answers PING within 2 s; else rejects with
   * `SY_TRANSPORT_UNAVAILABLE`. When not connected, the first failed attempt
   * (refused, unresolvable) is the answer, not the end of ioredis' retries.
   */
  async ping(): Promise<void> {
    const conn = this.get();
    let timer: NodeJS.Timeout | undefined;
    let onError: ((error: Error) => void) | undefined;
    try {
      await Promise.race([
        conn.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
          if (conn.status !== 'ready') {
            onError = reject;
            conn.once('error', onError);
          }
        }),
      ]);
    } catch (error) {
      throw wrapError(error, ErrorCode.TransportUnavailable, `ping of ${this.endpoint} failed`);
    } finally {
      clearTimeout(timer);
      if (onError) conn.off('error', onError);
    }
  }

  /** First step of closing: refuse new use and stop reporting states. */
  markClosed(): void {
    this.#closed = true;
    this.#watchers.clear();
  }

  /**
   * Last step of closing: QUIT lets replies already on their way arrive (acks
   * of drained handlers); bounded in case the server is gone, then the socket
   * is dropped. Never rejects; does nothing when no client was opened.
   */
  async quit(): Promise<void> {
    const conn = this.#conn;
    if (!conn) return;
    await Promise.race([
      conn.quit().catch(() => {}),
      new Promise((resolve) => setTimeout(resolve, QUIT_TIMEOUT_MS).unref()),
    ]);
    conn.disconnect();
  }

  #open(): Redis {
    const conn = new Redis(this.#options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 20,
      ...this.#options.redis,
    });
    let lastError: Error | undefined;
    let attempt = 0;
    conn.on('error', (error: Error) => {
      lastError = error;
      this.#options.onConnectionError(error);
    });
    conn.on('ready', () => {
      attempt = 0;
      lastError = undefined;
      this.#report({ status: 'connected' });
    });
    conn.on('close', () => {
      if (!this.#closed) this.#report({ status: 'disconnected', ...(lastError ? { error: lastError } : {}) });
    });
    conn.on('reconnecting', (delayMs: number) => {
      attempt++;
      if (!this.#closed)
        this.#report({ status: 'retrying', attempt, delayMs, ...(lastError ? { error: lastError } : {}) });
    });
    this.#conn = conn;
    return conn;
  }

  #report(state: Omit<ConnectionState, 'endpoint'>): void {
    const full = { ...state, endpoint: this.endpoint };
    for (const listener of this.#watchers) {
      try {
        listener(full);
      } catch {
        // A listener's fault must not disturb the connection's own handling.
      }
    }
  }
}
