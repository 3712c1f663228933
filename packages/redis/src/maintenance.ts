import type { Redis } from 'ioredis';
import { Keys } from './codec.js';
import type { ResolvedOptions } from './options.js';
import { autoClaimReply, pendingCounts, type RawEntry } from './replies.js';
import { scripts } from './scripts.js';

/** What the maintenance loops need from their consumer. */
export interface MaintenanceSetup {
  readonly conn: Redis;
  readonly keys: Keys;
  readonly channel: string;
  readonly consumer: string;
  readonly options: ResolvedOptions;
  /** The consumer's unsettled deliveries by entry id, with when their lease was last renewed. */
  readonly inflight: ReadonlyMap<string, { since: number }>;
  /** Free prefetch room. */
  room(): number;
  /** Hand claimed entries to the consumer with their delivery counts. */
  deliver(entries: readonly RawEntry[], counts: ReadonlyMap<string, number>): void;
  stopped(): boolean;
}

const MOVE_LIMIT = 500;
const SWEEP_EVERY_TICKS = 30;
const STALE_CONSUMER_MS = 3_600_000;

/**
 * Delete `consumer` from the channel's group if it has no pending entries and has been idle at
 * least `minIdleMs`, checked and deleted in one script: XGROUP DELCONSUMER would drop pending
 * entries, which would then never be reclaimed.
 */
export async function deleteConsumerIfIdle(
  conn: Redis,
  stream: string,
  consumer: string,
  minIdleMs: number,
): Promise<void> {
  await scripts.deleteConsumer.run(conn, [stream], [Keys.group, consumer, String(minIdleMs)]);
}

/**
 * The background work of one consumer, on the shared command connection:
 *
 * - lease: every leaseMs/3, renew (XCLAIM … JUSTID, which does not count a
 *   delivery) the deliveries this consumer still holds, so a slow handler on a
 *   live process is not reclaimed; then XAUTOCLAIM entries idle for leaseMs —
 *   those of consumers that died — into free prefetch room.
 * - delay: move due members of the channel's delay set to its stream, waking
 *   when the next one is due or at least every delayPollMs.
 *
 * Failures (the connection is down) are reported and retried on the next tick.
 */
export class ConsumerMaintenance {
  readonly #s: MaintenanceSetup;
  readonly #stream: string;
  readonly #timers = new Set<NodeJS.Timeout>();
  #cursor = '0-0';
  #running = false;
  #ticks = 0;

  constructor(setup: MaintenanceSetup) {
    this.#s = setup;
    this.#stream = setup.keys.stream(setup.channel);
  }

  start(): void {
    this.#running = true;
    this.#schedule(() => this.#leaseTick(), this.#leaseInterval());
    this.#schedule(() => this.#moveTick(), 0);
  }

  /** Stop both loops; a tick already running finishes on its own. */
  stop(): void {
    this.#running = false;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }

  #leaseInterval(): number {
    return Math.max(5, Math.floor(this.#s.options.leaseMs / 3));
  }

  #schedule(tick: () => Promise<number>, ms: number): void {
    if (!this.#running) return;
    const timer = setTimeout(async () => {
      this.#timers.delete(timer);
      let next: number;
      try {
        next = await tick();
      } catch (error) {
        this.#s.options.onConnectionError(error instanceof Error ? error : new Error(String(error)));
        next = 500;
      }
      this.#schedule(tick, next);
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  async #leaseTick(): Promise<number> {
    await this.#renew();
    if (!this.#s.stopped()) await this.#reclaim();
    if (++this.#ticks % SWEEP_EVERY_TICKS === 0 && !this.#s.stopped()) await this.#sweep();
    return this.#leaseInterval();
  }

  /**
   * Forget consumers of crashed processes (each consume() makes a new name), once they hold
   * nothing: no pending entries and idle far longer than any live consumer can be (a live one
   * polls every blockMs). Consumers with pending entries are left for XAUTOCLAIM to empty.
   */
  async #sweep(): Promise<void> {
    const { conn, options, consumer } = this.#s;
    const idleLimit = Math.max(STALE_CONSUMER_MS, 10 * options.blockMs, 10 * options.leaseMs);
    const reply = (await conn.call('XINFO', ['CONSUMERS', this.#stream, Keys.group])) as unknown[][];
    for (const info of reply) {
      const fields = new Map<string, unknown>();
      for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
      const name = String(fields.get('name'));
      if (name === consumer || Number(fields.get('pending')) !== 0 || Number(fields.get('idle')) < idleLimit) continue;
      await deleteConsumerIfIdle(conn, this.#stream, name, idleLimit);
    }
  }

  async #renew(): Promise<void> {
    const { conn, options, consumer } = this.#s;
    const renewAfter = this.#leaseInterval();
    const now = Date.now();
    const due: string[] = [];
    for (const [id, state] of this.#s.inflight) if (now - state.since >= renewAfter) due.push(id);
    for (let i = 0; i < due.length; i += 1_000) {
      const ids = due.slice(i, i + 1_000);
      // min-idle keeps us from taking back an entry another consumer reclaimed (its idle time is fresh).
      await conn.call('XCLAIM', [
        this.#stream,
        Keys.group,
        consumer,
        Math.min(renewAfter, options.leaseMs - 1),
        ...ids,
        'JUSTID',
      ]);
      for (const id of ids) {
        const state = this.#s.inflight.get(id);
        if (state) state.since = now;
      }
    }
  }

  async #reclaim(): Promise<void> {
    const room = this.#s.room();
    if (room <= 0) return;
    const { conn, options, consumer } = this.#s;
    const reply = await conn.callBuffer('XAUTOCLAIM', [
      this.#stream,
      Keys.group,
      consumer,
      options.leaseMs,
      this.#cursor,
      'COUNT',
      room,
    ]);
    const { cursor, entries } = autoClaimReply(reply);
    this.#cursor = cursor;
    const fresh = entries.filter((e) => !this.#s.inflight.has(e.id));
    if (fresh.length === 0) return;
    const counts = await pendingCounts(
      conn,
      this.#stream,
      consumer,
      fresh.map((e) => e.id),
      this.#s.inflight.size,
    );
    this.#s.deliver(fresh, counts);
  }

  async #moveTick(): Promise<number> {
    const { conn, keys, channel, options } = this.#s;
    const [moved, wait] = (await scripts.move.run(conn, [keys.delay(channel), this.#stream], [MOVE_LIMIT])) as [
      number,
      number,
    ];
    if (moved >= MOVE_LIMIT) return 0;
    return wait < 0 ? options.delayPollMs : Math.min(wait, options.delayPollMs);
  }
}
