import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { type ConnectionState, describeError, ErrorCode, redact, TransportError } from '@switchyard/core/transport';
import amqp, { type ChannelModel, type SocketOptions } from 'amqplib';
import { coalesceWrites } from './write-coalescing.js';

/**
 * Await `closing` (an amqplib channel or connection close) for at most `ms`. amqplib waits for the
 * broker's close-ok, which never comes when the socket died underneath: closing must still end.
 */
export async function closeWithin(closing: Promise<unknown>, ms = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  await Promise.race([closing.catch(() => undefined), bound]);
  clearTimeout(timer);
}

/** One live AMQP connection; `generation` grows by one on every (re)connect. */
export interface LiveConnection {
  readonly model: ChannelModel;
  readonly generation: number;
}

/** What {@link ConnectionManager} needs to know. */
export interface ConnectionSettings {
  readonly url: string;
  readonly connectionName: string;
  readonly heartbeatSeconds: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** TLS settings for `amqps://`. */
  readonly tls?: TlsOptions;
  /** Bound on one TCP + AMQP handshake attempt. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Runs on every new connection before anyone may use it (declares the exchanges); a failure counts as a failed connect. */
  readonly setup?: (model: ChannelModel) => Promise<void>;
}

interface Waiter {
  resolve(live: LiveConnection): void;
  reject(error: unknown): void;
  /** Rejected by the first failed connect attempt instead of waiting for a later one. */
  readonly failFast: boolean;
}

/**
 * Owns the one AMQP connection of a transport and keeps it alive: the first
 * `get` connects, and after any loss it reconnects with exponential backoff
 * and jitter until `close`. Channels are not recovered here; their owners
 * (publisher, subscriptions) reopen them on the next connection.
 *
 * Thread safety: any number of concurrent `get` calls share one connect
 * attempt. `close` is idempotent; afterwards `get` rejects with `SY_CLOSED`.
 */
export class ConnectionManager {
  readonly #settings: ConnectionSettings;
  #live: LiveConnection | undefined;
  #generation = 0;
  #running = false;
  #closed = false;
  #lastError: unknown;
  #timer: NodeJS.Timeout | undefined;
  #wakeBackoff: (() => void) | undefined;
  readonly #waiters = new Set<Waiter>();
  readonly #watchers = new Set<(state: ConnectionState) => void>();

  constructor(settings: ConnectionSettings) {
    this.#settings = settings;
  }

  /** True once `close` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The live connection if there is one now, without waiting. */
  get current(): LiveConnection | undefined {
    return this.#live;
  }

  /**
   * The live connection, connecting first if needed. Waits at most `timeoutMs`
   * (forever when omitted) and then rejects with `SY_TRANSPORT_UNAVAILABLE`
   * naming the last connection error; rejects with `SY_CLOSED` after `close`.
   * With `failFast`, a failed connect attempt (refused, unresolvable) rejects
   * it at once, the same way, instead of waiting for the reconnects.
   */
  get(timeoutMs?: number, failFast = false): Promise<LiveConnection> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#live) return Promise.resolve(this.#live);
    this.#start();
    return new Promise<LiveConnection>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        resolve: (live) => {
          if (timer) clearTimeout(timer);
          resolve(live);
        },
        reject: (error) => {
          if (timer) clearTimeout(timer);
          reject(error);
        },
        failFast,
      };
      this.#waiters.add(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(this.#unreachable(`after ${timeoutMs} ms`));
        }, timeoutMs);
      }
    });
  }

  /** Call `listener` on every connection change (connected, disconnected, retrying) until the returned function is called or `close`. */
  watch(listener: (state: ConnectionState) => void): () => void {
    this.#watchers.add(listener);
    return () => this.#watchers.delete(listener);
  }

  #report(state: Omit<ConnectionState, 'endpoint'>): void {
    const full = { ...state, endpoint: redact(this.#settings.url) };
    for (const listener of this.#watchers) {
      try {
        listener(full);
      } catch {
        // A listener's fault must not stop the reconnect loop.
      }
    }
  }

  /** Stop reconnecting and close the connection. Idempotent; never rejects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchers.clear();
    if (this.#timer) clearTimeout(this.#timer);
    this.#wakeBackoff?.();
    const error = this.#closedError();
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    const live = this.#live;
    this.#live = undefined;
    if (live) await closeWithin(live.model.close());
  }

  #unreachable(when: string): TransportError {
    const why = this.#lastError === undefined ? 'still connecting' : describeError(this.#lastError);
    return new TransportError(
      ErrorCode.TransportUnavailable,
      `RabbitMQ at ${redact(this.#settings.url)} is unreachable ${when}: ${why}`,
      { cause: this.#lastError },
    );
  }

  #closedError(): TransportError {
    return new TransportError(ErrorCode.Closed, 'the RabbitMQ transport is closed');
  }

  #start(): void {
    if (this.#running || this.#closed) return;
    this.#running = true;
    void this.#connectLoop();
  }

  async #connectLoop(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      let model: ChannelModel | undefined;
      try {
        const socketOptions: SocketOptions = {
          ...this.#settings.tls,
          // A connect to a black-holed address must fail, not hang the reconnect loop.
          timeout: this.#settings.connectTimeoutMs ?? 10_000,
          // amqplib turns Nagle's algorithm on unless told otherwise: a small write (a publish, an ack) sent
          // while an earlier one is unacknowledged then waits for the peer's delayed ACK, up to 40 ms on
          // Linux, which put a request/reply round trip at ~38 ms instead of ~1.5 ms. Writes are already
          // coalesced per event-loop turn (coalesceWrites), so sending at once costs no extra packets.
          noDelay: true,
          clientProperties: { connection_name: this.#settings.connectionName },
        };
        model = await amqp.connect(this.#url(), socketOptions);
        // Listen before setup: an 'error' event without a listener would crash the process.
        model.on('error', (error: Error) => {
          this.#lastError = error;
        });
        coalesceWrites(model);
        if (this.#settings.setup) await this.#settings.setup(model);
        if (this.#closed) {
          await model.close().catch(() => undefined);
          break;
        }
        this.#adopt(model);
        this.#running = false;
        return;
      } catch (error) {
        this.#lastError = error;
        if (model) await closeWithin(model.close());
        for (const waiter of this.#waiters) {
          if (!waiter.failFast) continue;
          this.#waiters.delete(waiter);
          waiter.reject(this.#unreachable('(the connect attempt failed)'));
        }
        attempt++;
        await this.#backoff(attempt);
      }
    }
    this.#running = false;
  }

  /** The URL with our heartbeat unless the URL sets its own (amqplib takes it only from the URL or an object). */
  #url(): string {
    const url = new URL(this.#settings.url);
    if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(this.#settings.heartbeatSeconds));
    return url.toString();
  }

  #adopt(model: ChannelModel): void {
    const live: LiveConnection = { model, generation: ++this.#generation };
    this.#live = live;
    model.on('close', (error?: Error) => {
      if (this.#live !== live) return;
      this.#live = undefined;
      this.#lastError = error ?? new Error('connection closed');
      if (this.#closed) return;
      this.#report({ status: 'disconnected', error: this.#lastError });
      this.#start();
    });
    this.#report({ status: 'connected' });
    for (const waiter of this.#waiters) waiter.resolve(live);
    this.#waiters.clear();
  }

  #backoff(attempt: number): Promise<void> {
    const { initialDelayMs, maxDelayMs } = this.#settings;
    const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(attempt - 1, 30));
    const delay = base / 2 + (Math.random() * base) / 2;
    this.#report({ status: 'retrying', error: this.#lastError, attempt, delayMs: Math.round(delay) });
    return new Promise((resolve) => {
      this.#wakeBackoff = resolve;
      // Ref'd: a reconnect under way is work the process asked for (consumers wait on it); `close` clears it.
      this.#timer = setTimeout(resolve, delay);
    });
  }
}
