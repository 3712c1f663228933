import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ErrorCode, TransportError } from '@switchyard/core/transport';
import { wrapError } from './errors.js';
import { type ResolvedOptions, redactUrl } from './options.js';

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

  constructor(options: ResolvedOptions, url: string) {
    this.#options = options;
    this.#url = url;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The connection; rejects with SY_CLOSED after close, SY_TRANSPORT_UNAVAILABLE when the server cannot be reached. */
  nc(): Promise<NatsConnection> {
    if (this.#closed) return Promise.reject(new TransportError(ErrorCode.Closed, 'nats transport is closed'));
    this.#nc ??= this.#connect().catch((error: unknown) => {
      this.#nc = undefined;
      throw wrapError(error, ErrorCode.TransportUnavailable, `cannot connect to ${redactUrl(this.#url)}`);
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
      reconnectTimeWait: 250,
      waitOnFirstConnect: false,
      timeout: 5_000,
      // No Error objects with stack traces per request (a quarter of a sender's CPU): failures are
      // wrapped in Switchyard errors that say what failed anyway.
      noAsyncTraces: true,
    });
    void this.#watch(nc);
    return nc;
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      this.#options.onConnectionEvent({ type: status.type, data: status });
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
