import type { ConnectionState } from './types.js';

/** Options of a {@link ConnectionWatch}. */
export interface ConnectionWatchOptions {
  /** The broker address without password, as {@link ConnectionState.endpoint}. */
  readonly endpoint: string;
  /**
   * How long a failure must go without any success before `disconnected` is
   * reported (default 1,000 ms). A client with several connections (one per
   * broker of a cluster, or one HTTP request at a time) sees single requests
   * fail while others succeed; only a failure nothing contradicts is an outage.
   */
  readonly downAfterMs?: number;
}

/**
 * The bookkeeping behind {@link Transport.watchConnection} for a transport
 * that learns its connection's state from the outcome of its requests rather
 * than from one connection object: {@link up} after any answered request,
 * {@link down} after a request that did not reach the broker. Listeners hear
 * each change once: `connected` at the first answer (at once), `disconnected`
 * once a failure went `downAfterMs` without an answer. A listener that throws
 * is ignored. After {@link close} nothing is reported.
 */
export class ConnectionWatch {
  readonly #endpoint: string;
  readonly #downAfterMs: number;
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  #status: 'connected' | 'disconnected' | undefined;
  #pending: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: ConnectionWatchOptions) {
    this.#endpoint = options.endpoint;
    this.#downAfterMs = options.downAfterMs ?? 1_000;
  }

  /** The last reported status, undefined before the first report. */
  get status(): 'connected' | 'disconnected' | undefined {
    return this.#status;
  }

  /** Add a listener until the returned function is called. */
  watch(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A request was answered by the broker (an error answer counts: the broker is there). */
  up(): void {
    if (this.#pending !== undefined) {
      clearTimeout(this.#pending);
      this.#pending = undefined;
    }
    if (this.#status === 'connected') return;
    this.#report({ status: 'connected' });
  }

  /** A request or connect attempt failed without an answer from the broker. */
  down(error: unknown): void {
    if (this.#status === 'disconnected' || this.#pending !== undefined || this.#closed) return;
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#report({ status: 'disconnected', error });
    }, this.#downAfterMs);
    this.#pending.unref();
  }

  /** Stop reporting and forget the listeners. Idempotent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#pending);
    this.#pending = undefined;
    this.#listeners.clear();
  }

  #report(state: Omit<ConnectionState, 'endpoint'>): void {
    if (this.#closed) return;
    this.#status = state.status === 'connected' ? 'connected' : 'disconnected';
    const full: ConnectionState = { ...state, endpoint: this.#endpoint };
    for (const listener of this.#listeners) {
      try {
        listener(full);
      } catch {
        // A listener's fault must not disturb the transport.
      }
    }
  }
}
