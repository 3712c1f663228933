import { describeError } from '../errors.js';
import type { ConnectionState, Transport } from '../transport/types.js';
import type { Logger } from '../util/logger.js';

/**
 * What `service.health()` reports. Small on purpose: enough for a readiness
 * probe and an operator's first look.
 */
export interface ServiceHealth {
  /** True when the service is running, consuming, and its transport does not report a lost connection. */
  readonly healthy: boolean;
  /** Lifecycle state of the service. */
  readonly state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped';
  /** True once the service consumes its channel (with `waitForBroker`, false until the broker first answered). */
  readonly consuming: boolean;
  readonly transport: {
    /** Transport name, e.g. `rabbitmq`. */
    readonly name: string;
    /** Broker address without password, when known. */
    readonly endpoint?: string;
    /**
     * Last reported connection state: true when connected, false while disconnected or retrying;
     * undefined when the transport does not report its connection ({@link Transport.watchConnection}).
     */
    readonly connected: boolean | undefined;
    /** Epoch ms of the last change of `connected`. */
    readonly since?: number;
  };
  /** The last connection or start error, one line; cleared when the connection comes back. */
  readonly lastError?: string;
}

/**
 * Watches one transport's connection for a service: logs once per change of
 * state (disconnected, retrying with its backoff, reconnected with how long the
 * outage lasted) and keeps what `health()` shows. Closing it stops watching.
 */
export class ConnectionMonitor {
  readonly #transport: Transport;
  readonly #logger: Logger;
  readonly #service: string;
  readonly #unwatch: (() => void) | undefined;
  #status: ConnectionState['status'] | undefined;
  #endpoint: string | undefined;
  #since: number | undefined;
  #downSince: number | undefined;
  #lastError: string | undefined;
  readonly #downListeners = new Set<() => void>();

  constructor(service: string, transport: Transport, logger: Logger, endpoint?: string) {
    this.#service = service;
    this.#transport = transport;
    this.#logger = logger;
    this.#endpoint = endpoint;
    this.#unwatch = transport.watchConnection?.((state) => this.#change(state));
  }

  /** The last error a connection attempt or the start reported, if the connection has not come back since. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** The broker address as the transport reports it, or as the service was configured. */
  get endpoint(): string {
    return this.#endpoint ?? this.#transport.name;
  }

  /** Call `listener` whenever the transport reports the connection down or a failed attempt; returns the unsubscribe function. */
  onDown(listener: () => void): () => void {
    this.#downListeners.add(listener);
    return () => this.#downListeners.delete(listener);
  }

  /** Record an error seen outside the transport's reports (a failed start attempt). */
  noteError(error: unknown): void {
    this.#lastError = describeError(error);
  }

  /** The service attached its consumer: the broker answered, whether or not the transport reported it. */
  attached(): void {
    if (this.#unwatch === undefined || this.#status !== undefined) return;
    this.#status = 'connected';
    this.#since = Date.now();
    this.#lastError = undefined;
  }

  /** The transport part of {@link ServiceHealth}. */
  snapshot(): ServiceHealth['transport'] {
    return {
      name: this.#transport.name,
      ...(this.#endpoint === undefined ? {} : { endpoint: this.#endpoint }),
      connected: this.#status === undefined ? undefined : this.#status === 'connected',
      ...(this.#since === undefined ? {} : { since: this.#since }),
    };
  }

  /** Stop watching. Idempotent. */
  close(): void {
    this.#unwatch?.();
  }

  #change(state: ConnectionState): void {
    this.#endpoint = state.endpoint;
    const previous = this.#status;
    if (state.error !== undefined) this.#lastError = describeError(state.error);
    if (state.status !== 'connected') for (const listener of this.#downListeners) listener();
    if (state.status === previous) return;
    this.#status = state.status;
    const now = Date.now();
    const context = { service: this.#service, transport: this.#transport.name, endpoint: state.endpoint };
    if (state.status === 'connected') {
      this.#since = now;
      if (this.#downSince !== undefined) {
        const downMs = now - this.#downSince;
        this.#downSince = undefined;
        this.#lastError = undefined;
        this.#logger.info({ ...context, downMs }, `reconnected to the broker after ${(downMs / 1000).toFixed(1)} s`);
      }
      return;
    }
    if (previous === 'connected' || previous === undefined) {
      this.#since = now;
      this.#downSince = now;
      const what = previous === undefined ? 'cannot reach the broker' : 'lost the connection to the broker';
      this.#logger.warn({ ...context, error: this.#lastError }, what);
    }
    if (state.status === 'retrying') {
      this.#logger.info(
        { ...context, attempt: state.attempt, delayMs: state.delayMs, error: this.#lastError },
        'retrying the connection to the broker with backoff',
      );
    }
  }
}
