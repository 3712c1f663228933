import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  type ConnectionState,
  describeError,
  ErrorCode,
  redact,
  SwitchyardError,
  TransportError,
  withTimeout,
} from '@switchyard/core/transport';
import { wrapError } from './errors.js';
import type { ResolvedOptions } from './options.js';

/** `ping()` answers within this bound, whatever the network does. */
const PING_TIMEOUT_MS = 2_000;

/** Wait between two reconnect attempts. */
const RECONNECT_WAIT_MS = 250;

/**
 * The one NATS connection of a transport, opened on first use. The client
 * reconnects by itself without limit (`maxReconnectAttempts: -1`) and buffers
 * what is published meanwhile; status changes go to `onConnectionEvent`. A
 * failed first connect is not cached: the next use tries again. Requests do
 * not capture async stack traces (`noAsyncTraces`).
 */
export class Connection {
  readonly #options: ResolvedOptions;
  readonly #url: string;
  #nc: Promise<NatsConnection> | undefined;
  #js: Promise<JetStreamClient> | undefined;
  #jsm: Promise<JetStreamManager> | undefined;
  #closed = false;
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  #reconnectAttempts = 0;

  constructor(options: ResolvedOptions, url: string) {
    this.#options = options;
    this.#url = url;
  }

  /** The server address(es) without password, for messages and connection states. */
  get endpoint(): string {
    return redact(this.#url);
  }

  /**
   * Call `listener` on every change of the connection's state (connected; disconnected, with the
   * error; retrying, with the attempt and the 250 ms wait) until the returned function is called.
   */
  watch(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(state: Omit<ConnectionState, 'endpoint'>): void {
    for (const listener of this.#listeners) {
      try {
        listener({ ...state, endpoint: this.endpoint });
      } catch {
        // Listeners must not throw; one that does changes nothing here.
      }
    }
  }

  /** Resolves when the server answers a JetStream request; rejects with SY_TRANSPORT_UNAVAILABLE otherwise, within 2 s (SY_CLOSED after close). */
  async ping(): Promise<void> {
    try {
      await withTimeout(
        this.jsm().then((jsm) => jsm.getAccountInfo()),
        PING_TIMEOUT_MS,
        'the NATS server to answer',
      );
    } catch (error) {
      if (error instanceof SwitchyardError && error.code === ErrorCode.Closed) throw error;
      throw new TransportError(
        ErrorCode.TransportUnavailable,
        `nats: ping of ${this.endpoint} failed: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The connection; rejects with SY_CLOSED after close, SY_TRANSPORT_UNAVAILABLE when the server cannot be reached. */
  nc(): Promise<NatsConnection> {
    if (this.#closed) return Promise.reject(new TransportError(ErrorCode.Closed, 'nats transport is closed'));
    this.#nc ??= this.#connect().catch((error: unknown) => {
      this.#nc = undefined;
      this.#emit({ status: 'disconnected', error });
      throw wrapError(error, ErrorCode.TransportUnavailable, `cannot connect to ${redact(this.#url)}`);
    });
    return this.#nc;
  }

  js(): Promise<JetStreamClient> {
    this.#js ??= this.nc().then((nc) => jetstream(nc, { timeout: this.#options.publishAckTimeoutMs }));
    return this.#js.catch((error: unknown) => {
      this.#js = undefined;
      throw error;
    });
  }

  jsm(): Promise<JetStreamManager> {
    this.#jsm ??= this.nc().then((nc) => jetstreamManager(nc, { timeout: this.#options.publishAckTimeoutMs }));
    return this.#jsm.catch((error: unknown) => {
      this.#jsm = undefined;
      throw error;
    });
  }

  async #connect(): Promise<NatsConnection> {
    const { servers, user, pass, tls } = this.#options;
    const nc = await connect({
      servers,
      ...(user !== undefined ? { user } : {}),
      ...(pass !== undefined ? { pass } : {}),
      ...(tls ? { tls: {} } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_WAIT_MS,
      waitOnFirstConnect: false,
      timeout: 5_000,
      // No Error objects with stack traces per request (a quarter of a sender's CPU): failures are
      // wrapped in Switchyard errors that say what failed anyway.
      noAsyncTraces: true,
    });
    void this.#watch(nc);
    this.#emit({ status: 'connected' });
    return nc;
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      this.#options.onConnectionEvent({ type: status.type, data: status });
      if (status.type === 'disconnect') this.#emit({ status: 'disconnected' });
      else if (status.type === 'reconnecting') {
        this.#emit({ status: 'retrying', attempt: ++this.#reconnectAttempts, delayMs: RECONNECT_WAIT_MS });
      } else if (status.type === 'reconnect') {
        this.#reconnectAttempts = 0;
        this.#emit({ status: 'connected' });
      }
    }
  }

  /** Flush what was published (acks of drained handlers), then close. Idempotent, bounded. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pending = this.#nc;
    if (!pending) return;
    const nc = await pending.catch(() => undefined);
    if (!nc) return;
    const bound = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
    await Promise.race([nc.flush().catch(() => {}), bound(2_000)]);
    await Promise.race([nc.close().catch(() => {}), bound(2_000)]);
  }
}
