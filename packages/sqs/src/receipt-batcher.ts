import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ErrorCode, TransportError } from '@switchyard/core/transport';
import { wrapError } from './errors.js';

interface Pending {
  readonly receipt: string;
  readonly visibility: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Coalesces deletes (acks) and visibility changes (nacks, releases) of one
 * queue into DeleteMessageBatch / ChangeMessageVisibilityBatch calls of up to
 * 10 entries, flushed on the next macrotask. Each caller's promise settles
 * with its own entry's result: an entry listed under `Failed` rejects that
 * caller only (its message then comes back after the visibility timeout).
 */
export class ReceiptBatcher {
  readonly #sqs: SQSClient;
  readonly #queueUrl: string;
  #deletes: Pending[] = [];
  #changes: Pending[] = [];
  #scheduled = false;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.#sqs = sqs;
    this.#queueUrl = queueUrl;
  }

  /** Delete the message of `receipt`. Rejects with a TransportError when SQS did not delete it. */
  delete(receipt: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#deletes.push({ receipt, visibility: 0, resolve, reject });
      this.#schedule();
    });
  }

  /** Set the message's visibility timeout to `seconds` from now (0: visible at once). */
  changeVisibility(receipt: string, seconds: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#changes.push({ receipt, visibility: seconds, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const deletes = this.#deletes.splice(0);
      const changes = this.#changes.splice(0);
      for (let i = 0; i < deletes.length; i += 10) void this.#flushDeletes(deletes.slice(i, i + 10));
      for (let i = 0; i < changes.length; i += 10) void this.#flushChanges(changes.slice(i, i + 10));
    });
  }

  async #flushDeletes(batch: Pending[]): Promise<void> {
    try {
      const out = await this.#sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: batch.map((p, i) => ({ Id: `d${i}`, ReceiptHandle: p.receipt })),
        }),
      );
      settle(batch, out.Failed, 'delete');
    } catch (error) {
      const wrapped = wrapError(ErrorCode.TransportUnavailable, 'delete messages', error);
      for (const p of batch) p.reject(wrapped);
    }
  }

  async #flushChanges(batch: Pending[]): Promise<void> {
    try {
      const out = await this.#sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#queueUrl,
          Entries: batch.map((p, i) => ({ Id: `v${i}`, ReceiptHandle: p.receipt, VisibilityTimeout: p.visibility })),
        }),
      );
      settle(batch, out.Failed, 'change visibility of');
    } catch (error) {
      const wrapped = wrapError(ErrorCode.TransportUnavailable, 'change message visibility', error);
      for (const p of batch) p.reject(wrapped);
    }
  }
}

function settle(
  batch: Pending[],
  failed: readonly { Id?: string; Code?: string; Message?: string }[] | undefined,
  what: string,
): void {
  const byIndex = new Map<number, { Code?: string; Message?: string }>();
  for (const f of failed ?? []) byIndex.set(Number((f.Id ?? '').slice(1)), f);
  batch.forEach((p, i) => {
    const f = byIndex.get(i);
    if (f === undefined) p.resolve();
    else
      p.reject(
        new TransportError(ErrorCode.TransportUnavailable, `SQS: could not ${what} message: ${f.Code}: ${f.Message}`),
      );
  });
}
