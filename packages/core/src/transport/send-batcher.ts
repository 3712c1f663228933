/** Options of {@link SendBatcher}. */
export interface SendBatcherOptions {
  /** Largest batch handed to `flush` (default 500). */
  readonly maxBatch?: number;
  /** Flushes running at once; further submissions wait and go out in fuller batches (default 4). */
  readonly maxInFlight?: number;
}

interface Submission<T> {
  readonly items: readonly T[];
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Merges concurrent sends into shared broker calls. Core sends one message per
 * `send` call and many calls at once; a transport that submits them here
 * turns a burst into a few batched round trips (one pipeline, one confirm
 * wait, one produce request) instead of one each.
 *
 * Guarantees: each submission's promise settles only after the batch that
 * carried all of its items settled — it resolves when `flush` resolved for
 * every batch holding its items, and rejects with the first error otherwise
 * (items of a rejected batch may still have been stored; callers that retry
 * rely on the receiver's inbox). Items keep submission order, and a
 * submission is never split across two flushes that run at once, so
 * awaited-in-sequence sends stay in order. Not shared across processes.
 */
export class SendBatcher<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  // A queue with a head index: shift() on a long array costs O(n) per item, O(n²) for a burst.
  #pending: Submission<T>[] = [];
  #head = 0;
  #inFlight = 0;
  #scheduled = false;

  constructor(flush: (items: T[]) => Promise<void>, options: SendBatcherOptions = {}) {
    this.#flush = flush;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#maxInFlight = options.maxInFlight ?? 4;
  }

  /** Queue `items` for the next batch; resolves once the broker accepted them. */
  submit(items: readonly T[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#pending.push({ items, resolve, reject });
      this.#schedule();
    });
  }

  /** Submissions waiting for a batch. */
  get waiting(): number {
    return this.#pending.length - this.#head;
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.waiting === 0) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: every send issued in this turn of the event loop joins the batch.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    const taken: Submission<T>[] = [];
    let size = 0;
    while (this.#head < this.#pending.length) {
      const next = this.#pending[this.#head] as Submission<T>;
      if (taken.length > 0 && size + next.items.length > this.#maxBatch) break;
      taken.push(next);
      size += next.items.length;
      this.#head++;
    }
    if (this.#head === this.#pending.length) {
      this.#pending = [];
      this.#head = 0;
    } else if (this.#head > 1_024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    if (taken.length === 0) return;
    this.#inFlight++;
    this.#schedule();
    try {
      const items: T[] = [];
      for (const submission of taken) for (const item of submission.items) items.push(item);
      for (let start = 0; start < items.length; start += this.#maxBatch) {
        await this.#flush(items.slice(start, start + this.#maxBatch));
      }
      for (const submission of taken) submission.resolve();
    } catch (error) {
      for (const submission of taken) submission.reject(error);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}
