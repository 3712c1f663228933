import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  countDeadLetters,
  type DeadLetterFilter,
  type DeadLetterRecord,
  type DeadLetterRetention,
  type DeadLetterStore,
  decodeDeadLetter,
  ErrorCode,
  encodeDeadLetter,
  expiredDeadLetters,
  selectDeadLetters,
  TransportError,
} from '@switchyard/core/transport';
import { wrapError } from './errors.js';

/** Options of {@link SqsDeadLetterStore}. */
export interface SqsDeadLetterStoreOptions {
  /** The transport's SQS client; the store never destroys it. Called on each operation. */
  readonly sqs: () => SQSClient;
  /** The standard queue holding the records, e.g. `order-service-dead-letters-<hash>`. */
  readonly queueName: string;
  /** Optional retention (see the class comment). */
  readonly retention?: DeadLetterRetention;
  /** How long browsed records stay hidden from other readers should this process die mid-browse. Default 30 s. */
  readonly browseVisibilitySeconds?: number;
  /** Bound on waiting for another browser to finish. Default 30,000 ms. */
  readonly timeoutMs?: number;
}

/** SQS keeps a message at most 14 days; it is the queue's retention (MessageRetentionPeriod). */
const MAX_RETENTION_SECONDS = 14 * 24 * 3600;
const MIN_RETENTION_SECONDS = 60;
const WAIT_RETRY_MS = 100;

/**
 * Dead letters of one service in a standard SQS queue of their own (one message per record: the
 * record as JSON, original body in base64).
 *
 * - `add` resolves once SQS accepted the message (SendMessage: stored redundantly). A repeated
 *   add may store a second copy; reads fold copies by record id and `delete` removes them all.
 *   A record must fit SQS's 256 KiB: originals over about 180 KiB (base64 grows them by a third)
 *   cannot be stored, and `add` rejects (the message then stays on its channel).
 * - Reads and deletes browse the queue: receive every message (10 per call) with a visibility
 *   timeout, then make the ones not deleted visible again at once (ChangeMessageVisibility 0).
 *   While one reader browses the records are invisible to others, so a reader first waits until
 *   no message of the queue is in flight (ApproximateNumberOfMessagesNotVisible = 0, up to
 *   `timeoutMs`); two readers that start in the same instant can still see partial lists. A
 *   reader that dies mid-browse hides the records for `browseVisibilitySeconds`.
 *   Each read costs O(records / 10) requests: hundreds of records read in well under a second,
 *   tens of thousands take minutes. SQS fits a small number of dead letters.
 * - SQS deletes any message 14 days after it was sent (the queue's MessageRetentionPeriod is set
 *   to 14 days, or to `retention.maxAgeMs` when smaller, at least 60 s): records older than that are
 *   lost, whatever the retention. `retention.maxCount` is enforced on each browse (the oldest
 *   beyond it are deleted).
 * - `close` marks the store closed (later calls reject with SY_CLOSED); the client stays.
 */
export class SqsDeadLetterStore implements DeadLetterStore {
  readonly #options: SqsDeadLetterStoreOptions;
  #url: Promise<string> | undefined;
  #closed = false;

  constructor(options: SqsDeadLetterStoreOptions) {
    this.#options = options;
  }

  async add(record: DeadLetterRecord): Promise<void> {
    const sqs = this.#sqs();
    try {
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: await this.#queueUrl(sqs),
          MessageBody: encodeDeadLetter(record),
          MessageAttributes: { 'sy-dead-letter-id': { DataType: 'String', StringValue: record.id } },
        }),
      );
    } catch (error) {
      throw wrapError(
        ErrorCode.SendFailed,
        `store dead letter '${record.id}' in queue '${this.#options.queueName}'`,
        error,
      );
    }
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterRecord[]> {
    return this.#browse(
      () => [],
      (held) => selectDeadLetters(records(held), filter),
    );
  }

  async count(filter: DeadLetterFilter = {}): Promise<number> {
    return this.#browse(
      () => [],
      (held) => countDeadLetters(records(held), filter),
    );
  }

  async get(id: string): Promise<DeadLetterRecord | undefined> {
    return this.#browse(
      () => [],
      (held) => held.get(id)?.record,
    );
  }

  async delete(id: string): Promise<boolean> {
    return this.#browse(
      (held) => held.get(id)?.messages ?? [],
      (held) => held.has(id),
    );
  }

  /** Idempotent; the client is the transport's and stays open. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /**
   * Receive every message, delete those `remove` picks (and those retention drops), make the
   * rest visible again, then answer with `work` over the records read.
   */
  async #browse<T>(remove: (held: Map<string, Held>) => Message[], work: (held: Map<string, Held>) => T): Promise<T> {
    const sqs = this.#sqs();
    let url: string;
    try {
      url = await this.#queueUrl(sqs);
      await this.#waitForOtherBrowsers(sqs, url);
    } catch (error) {
      throw wrapError(ErrorCode.TransportUnavailable, `read dead letters of queue '${this.#options.queueName}'`, error);
    }
    const held = new Map<string, Held>();
    const all: Message[] = [];
    try {
      for (;;) {
        const received = await this.#receive(sqs, url, 0);
        const batch = received.length > 0 ? received : await this.#lastLook(sqs, url);
        if (batch.length === 0) break;
        for (const message of batch) {
          all.push(message);
          let record: DeadLetterRecord | undefined;
          try {
            record = decodeDeadLetter(message.Body ?? '');
          } catch {
            // Not a record: left in place.
          }
          if (!record) continue;
          const existing = held.get(record.id);
          if (existing) existing.messages.push(message);
          else held.set(record.id, { record, messages: [message] });
        }
      }
      const doomed = new Set<Message>(remove(held));
      const maxCount = this.#options.retention?.maxCount;
      if (maxCount !== undefined) {
        for (const record of expiredDeadLetters(records(held), { maxCount }, Date.now())) {
          for (const message of held.get(record.id)?.messages ?? []) doomed.add(message);
          held.delete(record.id);
        }
      }
      const answer = work(held);
      await batches([...doomed], (entries) =>
        sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: entries.map(entryOf) })),
      );
      await release(
        sqs,
        url,
        all.filter((message) => !doomed.has(message)),
      );
      return answer;
    } catch (error) {
      await release(sqs, url, all).catch(() => undefined);
      throw wrapError(
        ErrorCode.TransportUnavailable,
        `browse dead letters of queue '${this.#options.queueName}'`,
        error,
      );
    }
  }

  async #receive(sqs: SQSClient, url: string, waitSeconds: number): Promise<Message[]> {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
        VisibilityTimeout: this.#options.browseVisibilitySeconds ?? 30,
      }),
    );
    return out.Messages ?? [];
  }

  /** Short polls sample SQS's servers: when the queue still reports visible messages, one long poll asks them all. */
  async #lastLook(sqs: SQSClient, url: string): Promise<Message[]> {
    const { visible } = await inFlight(sqs, url);
    return visible > 0 ? this.#receive(sqs, url, 1) : [];
  }

  async #waitForOtherBrowsers(sqs: SQSClient, url: string): Promise<void> {
    const deadline = Date.now() + (this.#options.timeoutMs ?? 30_000);
    while ((await inFlight(sqs, url)).hidden > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, WAIT_RETRY_MS));
    }
  }

  #queueUrl(sqs: SQSClient): Promise<string> {
    this.#url ??= (async () => {
      const maxAgeMs = this.#options.retention?.maxAgeMs;
      const seconds =
        maxAgeMs === undefined
          ? MAX_RETENTION_SECONDS
          : Math.min(MAX_RETENTION_SECONDS, Math.max(MIN_RETENTION_SECONDS, Math.ceil(maxAgeMs / 1_000)));
      const QueueName = this.#options.queueName;
      try {
        const out = await sqs.send(
          new CreateQueueCommand({ QueueName, Attributes: { MessageRetentionPeriod: String(seconds) } }),
        );
        if (out.QueueUrl !== undefined) return out.QueueUrl;
      } catch (error) {
        // It exists with other attributes (another retention): use it as it is.
        const out = await sqs.send(new GetQueueUrlCommand({ QueueName })).catch(() => undefined);
        if (out?.QueueUrl !== undefined) return out.QueueUrl;
        throw error;
      }
      throw new Error('CreateQueue returned no QueueUrl');
    })();
    this.#url.catch(() => {
      this.#url = undefined;
    });
    return this.#url;
  }

  #sqs(): SQSClient {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, 'the SQS dead-letter store is closed');
    return this.#options.sqs();
  }
}

interface Held {
  readonly record: DeadLetterRecord;
  readonly messages: Message[];
}

function records(held: Map<string, Held>): DeadLetterRecord[] {
  return [...held.values()].map((entry) => entry.record);
}

async function inFlight(sqs: SQSClient, url: string): Promise<{ visible: number; hidden: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    hidden: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

function entryOf(message: Message, index: number): { Id: string; ReceiptHandle: string } {
  return { Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' };
}

async function release(sqs: SQSClient, url: string, messages: Message[]): Promise<void> {
  await batches(messages, (entries) =>
    sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: entries.map((message, index) => ({ ...entryOf(message, index), VisibilityTimeout: 0 })),
      }),
    ),
  );
}

async function batches(messages: Message[], send: (entries: Message[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) await send(messages.slice(i, i + 10));
}
