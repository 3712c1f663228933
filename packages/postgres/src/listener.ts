import { ErrorCode, TransportError } from '@switchyard/core/transport';
import pg from 'pg';

/**
 * Wake-up hints for idle consumers, so that they need not poll fast: one LISTEN connection per
 * transport receives the NOTIFY that the message table's trigger sends when an inserting
 * transaction commits, and wakes this process's consumers of that channel within milliseconds.
 * Sends of this process also wake its consumers directly.
 *
 * Hints only: a consumer still polls every `pollIntervalMs`, so a lost notification (the LISTEN
 * connection dropped, the database restarted) only adds latency, never loses a message. The
 * connection is re-opened with backoff while any consumer listens; every consumer is woken
 * after a reconnect, for whatever was inserted meanwhile.
 */
export class WakeHub {
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #config: pg.ClientConfig | undefined;
  readonly #channel: string;
  readonly #onError: (error: TransportError) => void;
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #backoffMs = 0;
  #stopped = false;

  /** `config` undefined: no LISTEN connection, in-process hints only. */
  constructor(config: pg.ClientConfig | undefined, notifyChannel: string, onError: (error: TransportError) => void) {
    this.#config = config;
    this.#channel = notifyChannel;
    this.#onError = onError;
  }

  /** Register `wake` for `channel`; resolves once the LISTEN is in place (or failed, then retried in the background). */
  async listen(channel: string, wake: () => void): Promise<() => void> {
    let set = this.#waiters.get(channel);
    if (set === undefined) {
      set = new Set();
      this.#waiters.set(channel, set);
    }
    set.add(wake);
    const registered = set;
    if (this.#config !== undefined && !this.#stopped) await this.#ensureConnected();
    return () => {
      registered.delete(wake);
      if (registered.size === 0 && this.#waiters.get(channel) === registered) this.#waiters.delete(channel);
    };
  }

  /** Wake the consumers of `channel` in this process. */
  notify(channel: string): void {
    const set = this.#waiters.get(channel);
    if (set !== undefined) for (const wake of set) wake();
  }

  /** Wake every consumer in this process. */
  notifyAll(): void {
    for (const set of this.#waiters.values()) for (const wake of set) wake();
  }

  /** Close the LISTEN connection for good. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  #ensureConnected(): Promise<void> {
    if (this.#client !== undefined) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(this.#config);
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      if (this.#stopped) return;
      this.#onError(
        new TransportError(ErrorCode.TransportUnavailable, 'the PostgreSQL LISTEN connection was lost; reconnecting', {
          ...(error ? { cause: error } : {}),
        }),
      );
      this.#scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.payload) this.notify(message.payload);
      else this.notifyAll();
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.#channel}"`);
    } catch (error) {
      onLost(error as Error);
      return;
    }
    if (this.#stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#backoffMs = 0;
    // Whatever was inserted while nobody listened.
    this.notifyAll();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#retry !== undefined || this.#waiters.size === 0) return;
    this.#backoffMs = Math.min(Math.max(this.#backoffMs * 2, 100), 5_000);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#ensureConnected();
    }, this.#backoffMs);
    this.#retry.unref();
  }
}
