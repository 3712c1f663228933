import type { Dispatcher } from '../bus/dispatcher.js';
import { describeError } from '../errors.js';
import type { OutboxStore } from '../resilience/stores.js';
import { type Clock, sleep } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/** Relay tuning. */
export interface OutboxRelayOptions {
  /** Records forwarded per batch (default 100). */
  readonly batchSize?: number;
  /** Poll interval when the store cannot signal new records (default 100 ms). */
  readonly pollIntervalMs?: number;
  /** Longest pause after failed forwards, doubling from 100 ms (default 5 s). */
  readonly maxBackoffMs?: number;
}

/**
 * Forwards outbox records to their transports through the service map, in
 * batches, and removes them only after every broker confirmed. A failed
 * forward gives the batch back (`OutboxStore.release`, where the store has it)
 * and is retried. A crash between forward and removal forwards the batch
 * again: the receiving side's inbox removes the duplicates (same message ids).
 */
export class OutboxRelay {
  readonly #store: OutboxStore;
  readonly #dispatcher: Dispatcher;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #maxBackoffMs: number;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    store: OutboxStore,
    dispatcher: Dispatcher,
    scope: { clock: Clock; logger: Logger },
    options: OutboxRelayOptions = {},
  ) {
    this.#store = store;
    this.#dispatcher = dispatcher;
    this.#clock = scope.clock;
    this.#logger = scope.logger;
    this.#batchSize = options.batchSize ?? 100;
    this.#pollIntervalMs = options.pollIntervalMs ?? 100;
    this.#maxBackoffMs = options.maxBackoffMs ?? 5_000;
  }

  /** Forward everything pending now, once; resolves with how many records were forwarded. Rejects if a forward failed. */
  async flush(): Promise<number> {
    let total = 0;
    for (;;) {
      const records = await this.#store.pending(this.#batchSize);
      if (records.length === 0) return total;
      const ids = records.map((record) => record.id);
      try {
        await this.#dispatcher.dispatchBatch(
          records.map((record) => record.outbound),
          'outbox',
        );
      } catch (error) {
        await this.#store.release?.(ids).catch(() => undefined);
        throw error;
      }
      await this.#store.markForwarded(ids);
      total += records.length;
    }
  }

  /** Start forwarding in the background. Idempotent. */
  start(): void {
    if (this.#loop) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = this.#run(abort.signal);
  }

  /** Stop after the batch in flight. Idempotent. */
  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
    this.#loop = undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let backoff = 0;
    while (!signal.aborted) {
      try {
        const forwarded = await this.flush();
        backoff = 0;
        if (forwarded === 0) await this.#idle(signal);
      } catch (error) {
        backoff = Math.min(this.#maxBackoffMs, backoff === 0 ? 100 : backoff * 2);
        this.#logger.warn({ err: describeError(error), retryInMs: backoff }, 'outbox forward failed; will retry');
        await sleep(this.#clock, backoff, signal).catch(() => undefined);
      }
    }
  }

  async #idle(signal: AbortSignal): Promise<void> {
    const wait = this.#store.waitForRecords
      ? Promise.race([this.#store.waitForRecords(signal), sleep(this.#clock, this.#pollIntervalMs * 10, signal)])
      : sleep(this.#clock, this.#pollIntervalMs, signal);
    await wait.catch(() => undefined);
  }
}
