import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type DeliveryHandler, type Subscription, withTimeout } from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import { AckBatcher } from './ack-batcher.js';
import { decodeEntry, Keys } from './codec.js';
import { isNoGroup } from './errors.js';
import { HandlerPool } from './handler-pool.js';
import { ConsumerMaintenance, deleteConsumerIfIdle } from './maintenance.js';
import type { ResolvedOptions } from './options.js';
import { type DeliveryOwner, RedisDelivery } from './redis-delivery.js';
import { type RawEntry, readGroupEntries, readOwnPending } from './replies.js';
import { scripts } from './scripts.js';

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

/**
 * One consumer of one channel: a read loop on its own blocking connection
 * (XREADGROUP BLOCK, COUNT = free prefetch room, refilled once half the
 * prefetch is free), at most `concurrency` handlers deciding at once (a slot
 * is free as soon as the handler acks or nacks, not when the broker
 * confirmed), acks batched, plus the maintenance loops (lease renewal,
 * reclaim of dead consumers' deliveries, delay mover). Its consumer name is
 * unique, so after a reconnect the entries pending under it are exactly the
 * ones this object fetched; those it has not seen are read again from id 0.
 */
export class StreamConsumer implements Subscription {
  readonly name = `${hostname()}-${process.pid}-${randomBytes(6).toString('hex')}`;
  readonly #s: ConsumerSetup;
  readonly #stream: string;
  readonly #acks: AckBatcher;
  readonly #maintenance: ConsumerMaintenance;
  /** Unsettled deliveries by entry id: fetched, being handled, or being acked. */
  readonly #inflight = new Map<string, RedisDelivery>();
  /** Deliveries in #inflight whose handler already acked or nacked (only the broker's reply is awaited). */
  #decided = 0;
  readonly #pool: HandlerPool;
  /** What this consumer's deliveries call back into (kept off the public Subscription). */
  readonly #owner: DeliveryOwner;
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
    this.#lowWater = Math.max(1, Math.floor(setup.prefetch / 2));
    this.#acks = new AckBatcher(setup.conn, this.#stream, (ids, error) => this.#acked(ids, error));
    this.#pool = new HandlerPool(setup.concurrency, setup.handler);
    this.#owner = {
      channel: setup.channel,
      ackEntry: (id) => this.#acks.ack(id),
      nackEntry: (id, deliveries, delayMs) => this.#nackEntry(id, deliveries, delayMs),
      decide: (delivery) => {
        this.#pool.release(delivery);
        this.#decided++;
        this.#wakeReader();
      },
    };
    this.#maintenance = new ConsumerMaintenance({
      conn: setup.conn,
      keys: setup.keys,
      channel: setup.channel,
      consumer: this.name,
      options: setup.options,
      inflight: this.#inflight,
      room: () => this.#room(),
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
          await readOwnPending(s.blockConn, s.conn, this.#stream, this.name, this.#inflight, (entries, counts) =>
            this.#deliverAll(entries, counts),
          );
          continue;
        }
        const room = this.#room();
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
        const now = Date.now();
        for (const entry of readGroupEntries(reply)) this.#deliver(entry, 1, now);
        this.#pool.pump();
      } catch (error) {
        if (this.#stopping) break;
        if (isNoGroup(error)) {
          await s.ensureGroup().catch(() => {});
        } else {
          s.options.onConnectionError(error instanceof Error ? error : new Error(String(error)));
        }
        failures++;
        // Ref'd: a consumer waiting out an outage is what keeps a worker alive; a wake-up clears it.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(50 * 2 ** failures, 2_000));
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  #deliverAll(entries: readonly RawEntry[], counts: ReadonlyMap<string, number>): void {
    const now = Date.now();
    for (const entry of entries) {
      const count = counts.get(entry.id);
      // Not in our pending list any more: acked or claimed elsewhere meanwhile.
      if (count !== undefined) this.#deliver(entry, count, now);
    }
    this.#pool.pump();
  }

  /** Queue one entry for a handler (pump the pool afterwards); `count` is its delivery count in the group. */
  #deliver(entry: RawEntry, count: number, now: number): void {
    if (this.#inflight.has(entry.id)) return;
    if (entry.fields === null) {
      // Deleted while pending (acked and trimmed by another consumer): only the pending record is left.
      void this.#acks.ack(entry.id);
      return;
    }
    const decoded = decodeEntry(entry.id, entry.fields);
    const delivery = new RedisDelivery(this.#owner, entry.id, decoded.message, decoded.priorDeliveries + count, now);
    this.#inflight.set(entry.id, delivery);
    this.#pool.push(delivery);
  }

  /** See {@link DeliveryOwner.nackEntry}. */
  async #nackEntry(id: string, deliveries: number, delayMs: number): Promise<void> {
    try {
      await this.#requeue(id, deliveries, delayMs);
    } catch (error) {
      this.#inflight.get(id)?.settleFailed();
      this.#settled(id);
      throw error;
    }
  }

  /**
   * An ack call finished. A failed one (Redis unreachable past ioredis' retries) leaves its entries
   * pending; they are dropped from this consumer's books so their lease lapses and they come back.
   */
  #acked(ids: readonly string[], error: unknown): void {
    for (const id of ids) {
      if (error !== undefined) this.#inflight.get(id)?.settleFailed();
      this.#forget(id);
    }
    this.#wakeReader();
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

  #settled(id: string): void {
    this.#forget(id);
    this.#wakeReader();
  }

  #forget(id: string): void {
    const delivery = this.#inflight.get(id);
    if (delivery === undefined) return;
    if (delivery.decided) this.#decided--;
    this.#inflight.delete(id);
  }

  /**
   * Free prefetch room. Deliveries already acked or nacked by their handler (their broker call is
   * on its way) count only beyond one prefetch's worth: the next read is not held back by a batch
   * of acks in flight, and at most twice the prefetch is ever held.
   */
  #room(): number {
    return this.#s.prefetch - this.#inflight.size + Math.min(this.#decided, this.#s.prefetch);
  }

  #wakeReader(): void {
    if (this.#wake === undefined || this.#room() < this.#lowWater) return;
    const wake = this.#wake;
    this.#wake = undefined;
    wake();
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    this.#stopping = true;
    this.#maintenance.stop();
    // Hand out nothing more; what the read loop still delivers is collected once it has ended.
    const queued = this.#pool.stop();
    this.#wake?.();
    // Interrupt the blocking read; repeat because the read may not have reached the server yet.
    const readDeadline = Date.now() + this.#s.options.blockMs + 1_000;
    let loopEnded = false;
    void this.#loop.then(() => {
      loopEnded = true;
    });
    while (!loopEnded && Date.now() < readDeadline) {
      if (this.#clientId !== undefined) {
        await withTimeout(this.#s.conn.client('UNBLOCK', this.#clientId), 200, 'CLIENT UNBLOCK').catch(() => {});
      }
      await withTimeout(this.#loop, 50, 'the read loop').catch(() => {});
    }
    if (!loopEnded) this.#s.blockConn.disconnect();
    // Fetched but never handed out: give them back without counting this delivery.
    queued.push(...this.#pool.stop());
    for (const delivery of queued) delivery.handlerDone = true;
    const requeued = queued.map((d) => this.#requeue(d.id, d.deliveryCount - 1, 0));
    await this.#pool.drain(drainTimeoutMs);
    // Handlers that returned without settling: give those deliveries back now rather than after the lease.
    const wasQueued = new Set(queued);
    const unsettled = [...this.#inflight.values()].filter((d) => d.handlerDone && !d.settling && !wasQueued.has(d));
    await withTimeout(
      Promise.allSettled([...requeued, ...unsettled.map((d) => this.#requeue(d.id, d.deliveryCount, 0))]),
      2_000,
      'the requeue of unsettled deliveries',
    ).catch(() => {});
    this.#s.blockConn.disconnect();
    if (this.#inflight.size === 0) {
      await withTimeout(
        deleteConsumerIfIdle(this.#s.conn, this.#stream, this.name, 0),
        1_000,
        'the consumer deletion',
      ).catch(() => {});
    }
    this.#s.onClosed();
  }
}
