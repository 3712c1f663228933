import {
  type BatchCall,
  type BatchItem,
  MAX_BATCH_ENTRIES,
  type SendAllOptions,
  sendError,
  sendItems,
} from './batch-sender.js';

interface Submission<E> {
  readonly items: readonly BatchItem<E>[];
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Flushes of one destination in flight at once; further sends wait and then go out in fuller batches. */
const MAX_FLUSHES_IN_FLIGHT = 8;

/**
 * Merges concurrent sends to one destination (a queue or the topic) into
 * shared batch calls: core sends one message per `send` call, and many calls
 * at once, so without this every message would cost its own request. Sends
 * issued in the same turn of the event loop, or while the destination already
 * has {@link MAX_FLUSHES_IN_FLIGHT} flushes in flight, share batches. A flush
 * carries one batch call's worth (up to 10 entries, whole submissions), or a
 * single larger submission (sent in chunks); each turn starts as many flushes
 * as there is room for. So a caller waits for its own batch call only, never
 * for the calls of a whole backlog: with one flush taking every pending send,
 * hundreds of concurrent senders all waited for the slowest of dozens of
 * chunks and then sent again all at once, in lock step.
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
      while (this.#inFlight < MAX_FLUSHES_IN_FLIGHT && this.#pending.length > 0) void this.#flush(this.#take());
    });
  }

  /** The oldest submissions that fit one batch call together, or the oldest one alone when it does not fit. */
  #take(): Submission<E>[] {
    let entries = 0;
    let taken = 0;
    for (const submission of this.#pending) {
      if (taken > 0 && entries + submission.items.length > MAX_BATCH_ENTRIES) break;
      entries += submission.items.length;
      taken++;
    }
    return this.#pending.splice(0, taken);
  }

  async #flush(submissions: Submission<E>[]): Promise<void> {
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
