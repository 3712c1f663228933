import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  ConcurrencyGate,
  type Delivery,
  type DeliveryHandler,
  type NackOptions,
  type Subscription,
  settleOnce,
} from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import { AckBatcher } from './ack-batcher.js';
import { decodeEntry, Keys } from './codec.js';
import { isNoGroup } from './errors.js';
import { ConsumerMaintenance, deleteConsumerIfIdle } from './maintenance.js';
import type { ResolvedOptions } from './options.js';
import { pendingCounts, type RawEntry, readGroupEntries } from './replies.js';
import { scripts } from './scripts.js';
import { withTimeout } from './with-timeout.js';

/** What the transport hands a consumer. */
export interface ConsumerSetup {
  readonly conn: Redis;
  readonly blockConn: Redis;
  readonly keys: Keys;
  readonly channel: string;
  readonly options: ResolvedOptions;
  readonly handler: DeliveryHandler;
  readonly concurrency: number;
  readonly prefetch: number;
  /** Creates the channel's stream and group if missing (idempotent). */
  readonly ensureGroup: () => Promise<void>;
  /** Called once the consumer has fully closed. */
  readonly onClosed: () => void;
}

interface InFlight {
  readonly deliveryCount: number;
  /** When the lease was last taken or renewed (ms). */
  since: number;
  handlerDone: boolean;
}

/**
 * One consumer of one channel: a read loop on its own blocking connection
 * (XREADGROUP BLOCK, COUNT = free prefetch room), handlers run through a
 * ConcurrencyGate, acks batched, plus the maintenance loops (lease renewal,
 * reclaim of dead consumers' deliveries, delay mover). Its consumer name is
 * unique, so after a reconnect the entries pending under it are exactly the
 * ones this object fetched; those it has not seen are read again from id 0.
 */
export class StreamConsumer implements Subscription {
  readonly name = `${hostname()}-${process.pid}-${randomBytes(6).toString('hex')}`;
  readonly #s: ConsumerSetup;
  readonly #stream: string;
  readonly #gate: ConcurrencyGate;
  readonly #acks: AckBatcher;
  readonly #maintenance: ConsumerMaintenance;
  readonly #inflight = new Map<string, InFlight>();
  #stopping = false;
  #rescan = false;
  #clientId: number | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;
  readonly #lowWater: number;

  constructor(setup: ConsumerSetup) {
    this.#s = setup;
    this.#stream = setup.keys.stream(setup.channel);
    this.#gate = new ConcurrencyGate(setup.concurrency);
    this.#lowWater = Math.max(1, Math.floor(setup.prefetch / 2));
    this.#acks = new AckBatcher(setup.conn, this.#stream);
    this.#maintenance = new ConsumerMaintenance({
      conn: setup.conn,
      keys: setup.keys,
      channel: setup.channel,
      consumer: this.name,
      options: setup.options,
      inflight: this.#inflight,
      room: () => this.#s.prefetch - this.#inflight.size,
      deliver: (entries, counts) => this.#deliverAll(entries, counts),
      stopped: () => this.#stopping,
    });
  }

  /** Attach: make sure the group exists, connect the blocking connection, start the loops. */
  async start(): Promise<void> {
    await this.#s.ensureGroup();
    this.#s.blockConn.on('ready', () => {
      // After a reconnect, a read may have been served while its reply was lost: look at our own pending list.
      this.#rescan = true;
      this.#clientId = undefined;
    });
    await this.#s.blockConn.connect();
    // Closed while attaching (transport.close() or an abort raced consume()): start nothing.
    if (this.#stopping) return;
    this.#loop = this.#run();
    this.#maintenance.start();
  }

  /** See {@link Subscription.close}. Idempotent; deliveries left unsettled stay pending and are reclaimed. */
  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closing ??= this.#close(options?.drainTimeoutMs ?? 30_000);
    return this.#closing;
  }

  async #run(): Promise<void> {
    const s = this.#s;
    let failures = 0;
    while (!this.#stopping) {
      try {
        if (this.#clientId === undefined) this.#clientId = Number(await s.blockConn.client('ID'));
        if (this.#rescan) {
          this.#rescan = false;
          await this.#readOwnPending();
          continue;
        }
        const room = s.prefetch - this.#inflight.size;
        if (room < this.#lowWater) {
          // Refill in batches, not one entry per settled delivery: one XREADGROUP per half a prefetch.
          await new Promise<void>((resolve) => {
            this.#wake = resolve;
          });
          continue;
        }
        const reply = await s.blockConn.callBuffer('XREADGROUP', [
          'GROUP',
          Keys.group,
          this.name,
          'COUNT',
          room,
          'BLOCK',
          s.options.blockMs,
          'STREAMS',
          this.#stream,
          '>',
        ]);
        failures = 0;
        for (const entry of readGroupEntries(reply)) this.#deliver(entry, 1);
      } catch (error) {
        if (this.#stopping) break;
        if (isNoGroup(error)) {
          await s.ensureGroup().catch(() => {});
        } else {
          s.options.onConnectionError(error instanceof Error ? error : new Error(String(error)));
        }
        failures++;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          setTimeout(resolve, Math.min(50 * 2 ** failures, 2_000)).unref();
        });
      }
    }
  }

  /** Deliver what is pending on this consumer name but not held here (read from id 0). */
  async #readOwnPending(): Promise<void> {
    let start = '0';
    for (;;) {
      const reply = await this.#s.blockConn.callBuffer('XREADGROUP', [
        'GROUP',
        Keys.group,
        this.name,
        'COUNT',
        200,
        'STREAMS',
        this.#stream,
        start,
      ]);
      const entries = readGroupEntries(reply);
      if (entries.length === 0) return;
      start = entries[entries.length - 1]!.id;
      const fresh = entries.filter((e) => !this.#inflight.has(e.id));
      const counts = await pendingCounts(
        this.#s.conn,
        this.#stream,
        this.name,
        fresh.map((e) => e.id),
        this.#inflight.size,
      );
      this.#deliverAll(fresh, counts);
      if (entries.length < 200) return;
    }
  }

  #deliverAll(entries: readonly RawEntry[], counts: ReadonlyMap<string, number>): void {
    for (const entry of entries) {
      const count = counts.get(entry.id);
      // Not in our pending list any more: acked or claimed elsewhere meanwhile.
      if (count !== undefined) this.#deliver(entry, count);
    }
  }

  /** Hand one entry to the handler; `count` is this entry's delivery count in the group. */
  #deliver(entry: RawEntry, count: number): void {
    if (this.#inflight.has(entry.id)) return;
    if (entry.fields === null) {
      // Deleted while pending (acked and trimmed by another consumer): only the pending record is left.
      void this.#acks.ack(entry.id).catch(() => {});
      return;
    }
    const decoded = decodeEntry(entry.id, entry.fields);
    const deliveryCount = decoded.priorDeliveries + count;
    const state: InFlight = { deliveryCount, since: Date.now(), handlerDone: false };
    this.#inflight.set(entry.id, state);
    // A settle that fails (Redis unreachable past ioredis' retries) leaves the entry pending; it is
    // dropped from this consumer's books so its lease lapses and it comes back (reclaim or re-read).
    const settle = settleOnce(
      () => this.#acks.ack(entry.id).then(() => this.#settled(entry.id), this.#forget(entry.id)),
      (options?: NackOptions) =>
        this.#requeue(entry.id, deliveryCount, options?.delayMs ?? 0).catch(this.#forget(entry.id)),
    );
    const delivery: Delivery = {
      message: decoded.message,
      channel: this.#s.channel,
      deliveryCount,
      ack: settle.ack,
      nack: settle.nack,
    };
    void this.#gate.run(async () => {
      try {
        if (this.#stopping) {
          // Fetched but never handed out: give it back without counting this delivery.
          await this.#requeue(entry.id, deliveryCount - 1, 0).catch(() => {});
        } else {
          await this.#s.handler(delivery);
        }
      } catch {
        await delivery.nack().catch(() => {});
      } finally {
        state.handlerDone = true;
      }
    });
  }

  /** Put entry `id` back (tail of the stream, or the delay set) recording `deliveries` so far. */
  async #requeue(id: string, deliveries: number, delayMs: number): Promise<void> {
    const s = this.#s;
    await scripts.nack.run(
      s.conn,
      [this.#stream, s.keys.delay(s.channel)],
      [Keys.group, id, String(Math.max(0, deliveries)), String(Math.max(0, Math.trunc(delayMs)))],
    );
    this.#settled(id);
  }

  #forget(id: string): (error: unknown) => never {
    return (error) => {
      this.#settled(id);
      throw error;
    };
  }

  #settled(id: string): void {
    this.#inflight.delete(id);
    if (this.#wake === undefined || this.#s.prefetch - this.#inflight.size < this.#lowWater) return;
    const wake = this.#wake;
    this.#wake = undefined;
    wake();
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#maintenance.stop();
    this.#wake?.();
    // Interrupt the blocking read; repeat because the read may not have reached the server yet.
    const readDeadline = Date.now() + this.#s.options.blockMs + 1_000;
    let loopEnded = false;
    void this.#loop.then(() => {
      loopEnded = true;
    });
    while (!loopEnded && Date.now() < readDeadline) {
      if (this.#clientId !== undefined) {
        await withTimeout(this.#s.conn.client('UNBLOCK', this.#clientId), 200).catch(() => {});
      }
      await withTimeout(this.#loop, 50).catch(() => {});
    }
    if (!loopEnded) this.#s.blockConn.disconnect();
    // Queued deliveries are released at once (see #deliver), so the gate drains when running handlers finish.
    await this.#gate.drain(drainTimeoutMs);
    // Handlers that returned without settling: give those deliveries back now rather than after the lease.
    const unsettled = [...this.#inflight].filter(([, state]) => state.handlerDone);
    await withTimeout(
      Promise.allSettled(unsettled.map(([id, state]) => this.#requeue(id, state.deliveryCount, 0))),
      2_000,
    ).catch(() => {});
    this.#s.blockConn.disconnect();
    if (this.#inflight.size === 0) {
      await withTimeout(deleteConsumerIfIdle(this.#s.conn, this.#stream, this.name, 0), 1_000).catch(() => {});
    }
    this.#s.onClosed();
  }
}
