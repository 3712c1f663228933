/**
 * The raw baselines' batching of concurrent single-message sends, the shape
 * the transports give them (Kafka's produce requests, SQS batch calls,
 * SQLite group commits): sends made in one event-loop turn, or while
 * `maxInFlight` flushes run, go out together, `maxBatch` at most per flush.
 * Every send's promise settles with its flush.
 */
export class Coalescer<T> {
  #pending: Array<{ item: T; resolve: () => void; reject: (error: unknown) => void }> = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(
    private readonly flush: (items: T[]) => Promise<void> | void,
    private readonly maxBatch: number,
    private readonly maxInFlight: number,
  ) {}

  submit(item: T): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.maxInFlight || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    while (this.#inFlight < this.maxInFlight && this.#pending.length > 0) {
      const batch = this.#pending.splice(0, this.maxBatch);
      this.#inFlight++;
      void (async () => {
        try {
          await this.flush(batch.map((entry) => entry.item));
          for (const entry of batch) entry.resolve();
        } catch (error) {
          for (const entry of batch) entry.reject(error);
        } finally {
          this.#inFlight--;
          this.#schedule();
        }
      })();
    }
  }
}
