import type { Redis } from 'ioredis';
import { Keys } from './codec.js';
import { scripts } from './scripts.js';

const MAX_IDS = 1_000;
/** Ack calls in flight at once: the next batch need not wait for the previous reply. */
const MAX_IN_FLIGHT = 2;

interface Batch {
  readonly ids: string[];
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/** Told about every finished ack call, before its callers: `error` is set when the call failed. */
export type AckDone = (ids: readonly string[], error: unknown) => void;

/**
 * Coalesces the acks of one stream into few XACK+XDEL script calls: acks made
 * in one event-loop turn go out together, at most MAX_IN_FLIGHT calls at once
 * (acks made meanwhile wait for the next call). Each `ack` resolves only after
 * the server applied the call that carried its id, and rejects if that call
 * failed (the entry then stays pending and comes back). All acks of one call
 * share one promise, so an ack costs no allocation beyond its id.
 */
export class AckBatcher {
  readonly #conn: Redis;
  readonly #stream: string;
  readonly #done: AckDone;
  readonly #queue: Batch[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(conn: Redis, stream: string, done: AckDone) {
    this.#conn = conn;
    this.#stream = stream;
    this.#done = done;
  }

  /** Acknowledge and delete entry `id`. Idempotent on the server (a second XACK/XDEL is a no-op). */
  ack(id: string): Promise<void> {
    let batch = this.#queue[this.#queue.length - 1];
    if (batch === undefined || batch.ids.length >= MAX_IDS) {
      batch = newBatch();
      this.#queue.push(batch);
    }
    batch.ids.push(id);
    this.#schedule();
    return batch.promise;
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= MAX_IN_FLIGHT || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#inFlight < MAX_IN_FLIGHT && this.#queue.length > 0) void this.#send(this.#queue.shift()!);
    });
  }

  async #send(batch: Batch): Promise<void> {
    this.#inFlight++;
    try {
      await scripts.ack.run(this.#conn, [this.#stream], [Keys.group, ...batch.ids]);
    } catch (error) {
      this.#done(batch.ids, error);
      batch.reject(error);
      return;
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
    this.#done(batch.ids, undefined);
    batch.resolve();
  }
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers get the promise and handle its rejection; this keeps a batch nobody awaits from being unhandled.
  promise.catch(() => {});
  return { ids: [], promise, resolve, reject };
}
