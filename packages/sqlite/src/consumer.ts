import { randomBytes } from 'node:crypto';
import { type DeliveryHandler, ErrorCode, type Subscription, TransportError } from '@switchyard/core/transport';
import { type DeliverySink, SETTLED, SqliteDelivery } from './delivery.js';
import type { ClaimedRow } from './message-table.js';

/** What a consumer needs from its transport; every method may throw or reject with a TransportError. */
export interface QueueAccess {
  /**
   * Lease up to `limit` rows; `'busy'` when another process holds the write lock right now.
   * `probe`: look first, without a write lock, whether anything is visible (false when the
   * caller just claimed a full batch and expects more).
   */
  claim(channel: string, limit: number, owner: string, probe: boolean): ClaimedRow[] | 'busy';
  nextVisibleAt(channel: string): number | undefined;
  /** Delete an acked row; resolves once committed (without `durableAck`, failures are also reported through onError). */
  ack(seq: number, channel: string, key: string | null): Promise<void>;
  release(seq: number, owner: string, visibleAt: number, unclaim?: boolean): Promise<void>;
  extend(leases: ReadonlyArray<readonly [seq: number, owner: string]>): Promise<void>;
  listen(channel: string, wake: () => void): () => void;
  /** Commit every queued write (write-behind acks included). */
  flush(): Promise<void>;
  readonly leaseMs: number;
  readonly minPollMs: number;
  readonly maxPollMs: number;
  readonly onError: (error: TransportError) => void;
}

/** Settings of one consumer. */
export interface ConsumerSettings {
  readonly concurrency: number;
  readonly prefetch: number;
  /** Ack resolves only once its delete committed (otherwise: once queued for the next group commit). */
  readonly durableAck: boolean;
}

/**
 * One consumer of one channel. A fetch loop claims up to `prefetch` rows in one
 * transaction, hands them to at most `concurrency` handlers, and renews the
 * leases of every claimed, unsettled row every third of the lease, so that only
 * a consumer that died (or hung longer than the lease) loses its messages to
 * redelivery. A handler slot stays taken until its delivery is settled:
 * unsettled deliveries exert backpressure instead of being dropped.
 */
export class SqliteConsumer implements Subscription, DeliverySink {
  readonly #access: QueueAccess;
  readonly #channel: string;
  readonly #handler: DeliveryHandler;
  readonly #settings: ConsumerSettings;
  readonly #token = randomBytes(6).toString('hex');
  readonly #inFlight = new Map<number, SqliteDelivery>();
  readonly #buffer: SqliteDelivery[] = [];
  #claims = 0;
  /** Fetch again once no more than this many claimed rows are unsettled, so that claims stay large. */
  readonly #lowWater: number;
  /** Handler slots taken: a slot frees when its handler returned and its delivery is settled. */
  #running = 0;
  /** Handlers executing now; close drains these. */
  #executing = 0;
  #stopping = false;
  #woken = false;
  #wakeSleeper: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  #idle: Array<() => void> = [];
  #renewTimer: NodeJS.Timeout | undefined;
  #unlisten: (() => void) | undefined;

  constructor(access: QueueAccess, channel: string, handler: DeliveryHandler, settings: ConsumerSettings) {
    this.#access = access;
    this.#channel = channel;
    this.#handler = handler;
    this.#settings = settings;
    this.#lowWater = Math.floor(settings.prefetch / 2);
  }

  /** Begin fetching. Called once by the transport; a no-op after close. */
  start(): void {
    if (this.#stopping) return;
    this.#unlisten = this.#access.listen(this.#channel, () => this.#wake());
    const every = Math.max(10, Math.floor(this.#access.leaseMs / 3));
    this.#renewTimer = setInterval(() => this.#renew(), every);
    this.#renewTimer.unref();
    this.#loop = this.#fetchLoop();
  }

  /** See {@link Subscription.close}: unstarted and unsettled deliveries are released at once for redelivery. */
  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#shutdown(options?.drainTimeoutMs ?? 30_000);
    return this.#closing;
  }

  async #shutdown(drainTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#unlisten?.();
    this.#wake();
    await this.#loop;
    const now = Date.now();
    await Promise.all(this.#buffer.splice(0).map((state) => this.#releaseQuietly(state, now, true)));
    if (this.#executing > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainTimeoutMs);
        this.#idle.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    clearInterval(this.#renewTimer);
    const left = [...this.#inFlight.values()].filter((state) => !state.settled);
    await Promise.all(left.map((state) => this.#releaseQuietly(state, Date.now())));
    // Write-behind acks of this subscription are committed before close resolves.
    await this.#access.flush().catch((error: unknown) => this.#report(error));
  }

  async #releaseQuietly(state: SqliteDelivery, visibleAt: number, unclaim = false): Promise<void> {
    this.#inFlight.delete(state.seq);
    if (state.settled) return;
    state.settled = true;
    try {
      await this.#access.release(state.seq, state.owner, visibleAt, unclaim);
    } catch (error) {
      // The lease will expire and the message come back anyway.
      this.#report(error);
    }
  }

  async #fetchLoop(): Promise<void> {
    let idleMs = 0;
    /** The last claim filled its room: more rows are probably waiting. */
    let full = false;
    while (!this.#stopping) {
      const room = this.#settings.prefetch - this.#inFlight.size;
      if (this.#inFlight.size > this.#lowWater) {
        await this.#sleep(this.#access.maxPollMs);
        continue;
      }
      let rows: ClaimedRow[] | 'busy';
      const owner = `${this.#token}.${++this.#claims}`;
      try {
        rows = this.#access.claim(this.#channel, room, owner, !full);
      } catch (error) {
        this.#report(error);
        idleMs = this.#access.maxPollMs;
        await this.#sleep(idleMs);
        continue;
      }
      if (rows === 'busy') {
        // Another process is writing (probably new messages): try again shortly, without growing the wait.
        await this.#sleep(this.#access.minPollMs);
        continue;
      }
      if (rows.length === 0) {
        full = false;
        idleMs = idleMs === 0 ? this.#access.minPollMs : Math.min(idleMs * 2, this.#access.maxPollMs);
        // A wake-up hint can come before the write that caused it is committed (the WAL grows
        // frame by frame): after a hint, look again soon instead of at the grown interval.
        if (await this.#sleep(this.#untilDue(idleMs))) idleMs = 0;
        continue;
      }
      idleMs = 0;
      full = rows.length === room;
      for (const row of rows) this.#buffer.push(this.#track(row, owner));
      this.#pump();
      // Let handlers and settles run before claiming more.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sleep no longer than until the next delayed message or expiring lease becomes visible. */
  #untilDue(ms: number): number {
    try {
      const next = this.#access.nextVisibleAt(this.#channel);
      return next === undefined ? ms : Math.max(0, Math.min(ms, next - Date.now()));
    } catch {
      return ms;
    }
  }

  #track(row: ClaimedRow, owner: string): SqliteDelivery {
    const [seq, id, headers, body, key, deliveryCount] = row;
    // The driver's Buffer is a Uint8Array: handed over as is, no copy, no view.
    const message: { id: string; headers: Record<string, string>; body: Uint8Array; key?: string } =
      key === null ? { id, headers: parseHeaders(headers), body } : { id, headers: parseHeaders(headers), body, key };
    const delivery = new SqliteDelivery(this, this.#channel, seq, owner, key, deliveryCount, message);
    this.#inFlight.set(seq, delivery);
    return delivery;
  }

  /** See {@link DeliverySink}. Write-behind unless `durableAck`: see the transport's `durableAck` option. */
  settleAck(delivery: SqliteDelivery): Promise<void> {
    const committed = this.#access.ack(delivery.seq, this.#channel, delivery.key);
    if (this.#settings.durableAck) return committed.then(() => this.#settled(delivery));
    // The access reports a failed commit; the lease expires and the message comes back: at-least-once.
    this.#settled(delivery);
    return SETTLED;
  }

  /** See {@link DeliverySink}. */
  settleNack(delivery: SqliteDelivery, delayMs: number): Promise<void> {
    return this.#access.release(delivery.seq, delivery.owner, Date.now() + delayMs).then(() => this.#settled(delivery));
  }

  #settled(delivery: SqliteDelivery): void {
    delivery.settled = true;
    this.#inFlight.delete(delivery.seq);
    if (this.#inFlight.size <= this.#lowWater) this.#wake();
    this.#free(delivery);
  }

  #pump(): void {
    while (this.#running < this.#settings.concurrency && this.#buffer.length > 0 && !this.#stopping) {
      const state = this.#buffer.shift()!;
      this.#running++;
      void this.#runHandler(state);
    }
  }

  async #runHandler(state: SqliteDelivery): Promise<void> {
    this.#executing++;
    try {
      await this.#handler(state);
    } catch {
      try {
        await state.nack();
      } catch (error) {
        this.#report(error);
        // Stop renewing it: its lease expires and it is redelivered.
        state.settled = true;
        this.#inFlight.delete(state.seq);
      }
    }
    state.handlerDone = true;
    this.#executing--;
    if (this.#executing === 0) for (const done of this.#idle.splice(0)) done();
    this.#free(state);
  }

  #free(state: SqliteDelivery): void {
    if (!state.handlerDone || !state.settled || state.freed) return;
    state.freed = true;
    this.#running--;
    this.#pump();
  }

  #renew(): void {
    if (this.#inFlight.size === 0) return;
    const leases = [...this.#inFlight.values()].filter((s) => !s.settled).map((s) => [s.seq, s.owner] as const);
    this.#access.extend(leases).catch((error: unknown) => this.#report(error));
  }

  #wake(): void {
    this.#woken = true;
    this.#wakeSleeper?.();
  }

  /** Resolves after `ms`, or earlier on a wake-up: true when woken (or stopping), false on timeout. */
  #sleep(ms: number): Promise<boolean> {
    if (this.#woken || this.#stopping) {
      this.#woken = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        clearTimeout(timer);
        this.#wakeSleeper = undefined;
        resolve(woken);
      };
      const timer = setTimeout(() => finish(false), ms);
      this.#wakeSleeper = () => {
        this.#woken = false;
        finish(true);
      };
    });
  }

  #report(error: unknown): void {
    this.#access.onError(
      error instanceof TransportError
        ? error
        : new TransportError(ErrorCode.TransportUnavailable, String(error), { cause: error }),
    );
  }
}

/** Headers as stored by this transport; anything else (another writer's garbage) yields only its string values. */
function parseHeaders(json: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
  // JSON.parse defines keys such as "__proto__" as own data properties, so the object is safe
  // as is when every value is a string.
  const record = parsed as Record<string, unknown>;
  for (const name in record) {
    if (typeof record[name] !== 'string') {
      return Object.fromEntries(Object.entries(record).filter(([, value]) => typeof value === 'string')) as Record<
        string,
        string
      >;
    }
  }
  return record as Record<string, string>;
}
