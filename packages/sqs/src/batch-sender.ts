import { ErrorCode, TransportError } from '@switchyard/core/transport';
import { wrapError } from './errors.js';

/**
 * Batched sends with per-entry result checking, shared by SQS
 * SendMessageBatch and SNS PublishBatch. Both answer HTTP 200 even when some
 * entries were refused, listing them under `Failed`; an unchecked batch call
 * silently drops messages. Here every entry is accounted for: server-side
 * failures are re-sent (bounded), sender faults (which a retry cannot fix) and
 * entries still failing after the last retry make the whole send reject with
 * `SY_SEND_FAILED`, naming them.
 */

/** Most entries per batch call, for both SQS and SNS. */
export const MAX_BATCH_ENTRIES = 10;
/** Most bytes of bodies and attributes per batch call (the SQS/SNS batch payload limit). */
export const MAX_BATCH_BYTES = 256 * 1024;

/** One entry to send; `id` names it in errors (the message id), `bytes` is its size on the wire. */
export interface BatchItem<E> {
  readonly id: string;
  readonly bytes: number;
  readonly entry: E;
}

/** One refused entry of a batch call, by the entry's position in the chunk. */
export interface BatchFailure {
  readonly index: number;
  readonly senderFault: boolean;
  readonly code: string;
  readonly message: string;
}

/** Sends one chunk (at most 10 entries) and returns the refused ones. Rejects when the call itself failed. */
export type BatchCall<E> = (entries: readonly E[]) => Promise<readonly BatchFailure[]>;

/** How {@link sendAll} behaves. */
export interface SendAllOptions {
  /** Re-sends of entries refused on the server side (default 3). */
  readonly retries: number;
  /** Send chunks one after the other, preserving order across chunks (FIFO). Otherwise up to 4 at once. */
  readonly sequential: boolean;
  /** What is being sent, for error messages (e.g. `send to queue 'orders'`). */
  readonly what: string;
  /** Pause before retry `n` (1-based); default 50 ms × n. */
  readonly backoffMs?: (attempt: number) => number;
}

/** Split `items` into chunks of at most 10 entries and {@link MAX_BATCH_BYTES}. Keeps order. */
export function chunk<E>(items: readonly BatchItem<E>[]): BatchItem<E>[][] {
  const chunks: BatchItem<E>[][] = [];
  let current: BatchItem<E>[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length === MAX_BATCH_ENTRIES || (current.length > 0 && bytes + item.bytes > MAX_BATCH_BYTES)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** What became of a {@link sendItems} run: the refused items with their reasons, and the first failed request. */
export interface SendOutcome<E> {
  readonly failures: Map<BatchItem<E>, string>;
  readonly callError: unknown;
}

/**
 * Send every item through `call`, re-sending entries refused on the server
 * side up to `options.retries` times. Never rejects: it reports which items
 * were not accepted and why.
 */
export async function sendItems<E>(
  items: readonly BatchItem<E>[],
  call: BatchCall<E>,
  options: SendAllOptions,
): Promise<SendOutcome<E>> {
  const chunks = chunk(items);
  const failures = new Map<BatchItem<E>, string>();
  let callError: unknown;
  const runChunk = async (first: readonly BatchItem<E>[]): Promise<void> => {
    let pending = first;
    for (let attempt = 0; pending.length > 0; attempt++) {
      let refused: readonly BatchFailure[];
      try {
        refused = await call(pending.map((item) => item.entry));
      } catch (error) {
        callError ??= error;
        for (const item of pending) failures.set(item, 'request failed');
        return;
      }
      const retry: BatchItem<E>[] = [];
      for (const failure of refused) {
        const item = pending[failure.index];
        if (item === undefined) continue;
        if (failure.senderFault || attempt >= options.retries)
          failures.set(item, `${failure.code}: ${failure.message}`);
        else retry.push(item);
      }
      pending = retry;
      if (pending.length > 0) await pause((options.backoffMs ?? ((n) => 50 * n))(attempt + 1));
    }
  };
  if (options.sequential) {
    for (const [i, c] of chunks.entries()) {
      await runChunk(c);
      if (failures.size === 0) continue;
      // Keep order: nothing after a failed chunk is sent.
      for (const later of chunks.slice(i + 1)) for (const item of later) failures.set(item, 'not sent');
      break;
    }
  } else {
    const queue = [...chunks];
    const worker = async () => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) await runChunk(c);
    };
    await Promise.all(Array.from({ length: Math.min(4, chunks.length) }, worker));
  }
  return { failures, callError };
}

/** The `SY_SEND_FAILED` error for `failed` of `total` items, or undefined when none failed. */
export function sendError<E>(
  failed: readonly [BatchItem<E>, string][],
  total: number,
  what: string,
  callError: unknown,
): TransportError | undefined {
  if (failed.length === 0) return undefined;
  const named = failed.slice(0, 10).map(([item, reason]) => `${item.id} (${reason})`);
  const detail = `${failed.length} of ${total} message(s) not accepted: ${named.join('; ')}${failed.length > 10 ? '; …' : ''}`;
  if (callError !== undefined) {
    const wrapped = wrapError(ErrorCode.SendFailed, what, callError);
    return new TransportError(ErrorCode.SendFailed, `${wrapped.message}; ${detail}`, { cause: callError });
  }
  return new TransportError(ErrorCode.SendFailed, `SQS: ${what}: ${detail}`);
}

/**
 * Send every item through `call`. Resolves only when every entry was accepted;
 * otherwise rejects with a TransportError `SY_SEND_FAILED` listing the ids of
 * the entries that were not, with the broker's reason. Entries of other
 * chunks may have been stored by then (a retry of the whole send then
 * duplicates them, which core's dedup absorbs).
 */
export async function sendAll<E>(
  items: readonly BatchItem<E>[],
  call: BatchCall<E>,
  options: SendAllOptions,
): Promise<void> {
  const { failures, callError } = await sendItems(items, call, options);
  const error = sendError([...failures], items.length, options.what, callError);
  if (error) throw error;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
