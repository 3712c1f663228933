import { type BatchCall, type BatchItem, type SendAllOptions, sendError, sendItems } from './batch-sender.js';

interface Submission<E> {
  readonly items: readonly BatchItem<E>[];
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Batch calls of one destination in flight at once; further sends wait and then go out in fuller batches. */
const MAX_FLUSHES_IN_FLIGHT = 8;

/**
 * Merges concurrent sends to one destination (a queue or the topic) into
 * shared batch calls: core sends one message per `send` call, and many calls
 * at once, so without this every message would cost its own request. Sends
 * issued in the same turn of the event loop, or while the destination already
 * has {@link MAX_FLUSHES_IN_FLIGHT} flushes in flight, share batches.
 *
 * Each caller's promise settles with its own messages only: it rejects with
 * `SY_SEND_FAILED` naming those of its messages that were not accepted.
 * Submissions are flushed in arrival order, so sends awaited one after the
 * other keep their order (FIFO mode sends chunks sequentially).
 *
 * Not core's `SendBatcher`: an SQS or SNS batch call can accept some entries
 * and refuse others, and this settles each caller with the outcome of its own
 * entries; `SendBatcher` settles every submission of a batch with the batch's
 * one outcome, so one refused entry would fail callers whose messages were
 * stored.
 */
export class SendCoalescer<E> {
  readonly #call: BatchCall<E>;
  readonly #options: SendAllOptions;
  #pending: Submission<E>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(call: BatchCall<E>, options: SendAllOptions) {
    this.#call = call;
    this.#options = options;
  }

  /** Send `items`; resolves when SQS/SNS accepted all of them. */
  submit(items: readonly BatchItem<E>[]): Promise<void> {
    if (items.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#pending.push({ items, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= MAX_FLUSHES_IN_FLIGHT || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    const submissions = this.#pending.splice(0);
    if (submissions.length === 0) return;
    this.#inFlight++;
    try {
      const all = submissions.flatMap((s) => s.items);
      const { failures, callError } = await sendItems(all, this.#call, this.#options);
      for (const submission of submissions) {
        const failed = submission.items.flatMap((item) => {
          const reason = failures.get(item);
          return reason === undefined ? [] : [[item, reason] as [BatchItem<E>, string]];
        });
        const error = sendError(failed, submission.items.length, this.#options.what, callError);
        if (error) submission.reject(error);
        else submission.resolve();
      }
    } catch (error) {
      for (const submission of submissions) submission.reject(error as Error);
    } finally {
      this.#inFlight--;
      this.#schedule();
    }
  }
}
