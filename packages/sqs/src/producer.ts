import { createHash } from 'node:crypto';
import { PublishBatchCommand, type PublishBatchRequestEntry, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import type { TransportMessage } from '@switchyard/core/transport';
import type { BatchFailure, BatchItem } from './batch-sender.js';
import type { ResolvedSqsOptions } from './options.js';
import { SendCoalescer } from './send-coalescer.js';
import { sdkAttributes, toWire, type WireMessage } from './wire.js';

/** The longest per-message delay SQS holds natively (15 minutes). */
export const MAX_DELAY_SECONDS = 900;

/** DelaySeconds for a message due at `deliverAt` (rounded up, at most `max`, 15 minutes by default), 0 when due. */
export function delaySecondsFor(deliverAt: number | undefined, now: number, max = MAX_DELAY_SECONDS): number {
  if (deliverAt === undefined || deliverAt <= now) return 0;
  return Math.min(max, Math.ceil((deliverAt - now) / 1000));
}

/**
 * FIFO deduplication id. Not the bare message id: core re-sends the same
 * message for a delayed retry (attempt + 1, maybe another target handler),
 * and SQS would drop that re-send as a duplicate within its 5-minute window.
 */
export function deduplicationId(message: TransportMessage): string {
  const h = message.headers;
  return createHash('sha256')
    .update(`${message.id}|${h['ce-attempt'] ?? ''}|${h['ce-targethandler'] ?? ''}|${message.deliverAt ?? ''}`)
    .digest('hex');
}

function wireSize(wire: WireMessage): number {
  let size = Buffer.byteLength(wire.body);
  for (const [name, value] of Object.entries(wire.attributes)) size += name.length + 6 + Buffer.byteLength(value);
  return size;
}

function failures(
  failed: readonly { Id?: string; SenderFault?: boolean; Code?: string; Message?: string }[] | undefined,
): BatchFailure[] {
  return (failed ?? []).map((f) => ({
    index: Number((f.Id ?? '').slice(1)),
    senderFault: f.SenderFault ?? false,
    code: f.Code ?? 'Unknown',
    message: f.Message ?? '',
  }));
}

const GROUP_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * MessageGroupId of a message: its key when SQS accepts it as is, else a hash
 * of the key; without a key, `fallback` or else the message id (no ordering).
 */
export function groupIdFor(message: TransportMessage, fallback: string | undefined): string {
  const key = message.key ?? fallback ?? message.id;
  return GROUP_ID.test(key) ? key : createHash('sha256').update(key).digest('hex');
}

/**
 * Sends and publishes messages in batches of 10, checking every entry (see
 * batch-sender); concurrent sends to one destination share batches (see
 * send-coalescer). Safe for concurrent use.
 */
export class Producer {
  readonly #sqs: SQSClient;
  readonly #sns: SNSClient;
  readonly #options: ResolvedSqsOptions;
  readonly #queues = new Map<string, SendCoalescer<SendMessageBatchRequestEntry>>();
  readonly #topics = new Map<string, SendCoalescer<PublishBatchRequestEntry>>();

  constructor(sqs: SQSClient, sns: SNSClient, options: ResolvedSqsOptions) {
    this.#sqs = sqs;
    this.#sns = sns;
    this.#options = options;
  }

  /** Durably send `messages` to the queue at `queueUrl`; `routingKey` marks events. Rejects with `SY_SEND_FAILED`. */
  sendToQueue(
    queueUrl: string,
    queueName: string,
    messages: readonly TransportMessage[],
    routingKey?: (m: TransportMessage) => string | undefined,
  ): Promise<void> {
    const now = Date.now();
    const items: BatchItem<SendMessageBatchRequestEntry>[] = messages.map((message) => {
      const rk = routingKey?.(message);
      const wire = toWire(
        message,
        {
          ...(rk === undefined ? {} : { routingKey: rk }),
          ...(message.deliverAt === undefined ? {} : { due: message.deliverAt }),
        },
        message.wire ?? this.#options.wire,
      );
      return { id: message.id, bytes: wireSize(wire), entry: this.#sqsEntry(message, wire, now) };
    });
    return this.sendWire(queueUrl, queueName, items);
  }

  /** Send prepared entries (also used to re-send a received message unchanged). Concurrent calls share batches. */
  sendWire(queueUrl: string, queueName: string, items: BatchItem<SendMessageBatchRequestEntry>[]): Promise<void> {
    let coalescer = this.#queues.get(queueUrl);
    if (coalescer === undefined) {
      coalescer = new SendCoalescer(
        async (entries) => {
          const renumbered = entries.map((e, i) => ({ ...e, Id: `e${i}` }));
          const out = await this.#sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: renumbered }));
          return failures(out.Failed);
        },
        { retries: this.#options.sendRetries, sequential: this.#options.fifo, what: `send to queue '${queueName}'` },
      );
      this.#queues.set(queueUrl, coalescer);
    }
    return coalescer.submit(items);
  }

  /**
   * Durably publish `messages` to the SNS topic. Rejects with `SY_SEND_FAILED`.
   * Always CloudEvents structured mode, whatever a message's `wire`: the
   * subscriptions' filter policies match the body's `type`.
   */
  publishToTopic(
    topicArn: string,
    messages: readonly { message: TransportMessage; routingKey: string }[],
  ): Promise<void> {
    const items: BatchItem<PublishBatchRequestEntry>[] = messages.map(({ message, routingKey }, i) => {
      const wire = toWire(message, {
        routingKey,
        ...(message.deliverAt === undefined ? {} : { due: message.deliverAt }),
      });
      const entry: PublishBatchRequestEntry = {
        Id: `e${i}`,
        Message: wire.body,
        MessageAttributes: sdkAttributes(wire.attributes),
      };
      if (this.#options.fifo) {
        entry.MessageGroupId = groupIdFor(message, this.#options.defaultGroupId);
        entry.MessageDeduplicationId = deduplicationId(message);
      }
      return { id: message.id, bytes: wireSize(wire), entry };
    });
    let coalescer = this.#topics.get(topicArn);
    if (coalescer === undefined) {
      coalescer = new SendCoalescer(
        async (entries) => {
          const renumbered = entries.map((e, i) => ({ ...e, Id: `e${i}` }));
          const out = await this.#sns.send(
            new PublishBatchCommand({ TopicArn: topicArn, PublishBatchRequestEntries: renumbered }),
          );
          return failures(out.Failed);
        },
        { retries: this.#options.sendRetries, sequential: this.#options.fifo, what: 'publish to the SNS topic' },
      );
      this.#topics.set(topicArn, coalescer);
    }
    return coalescer.submit(items);
  }

  #sqsEntry(message: TransportMessage, wire: WireMessage, now: number): SendMessageBatchRequestEntry {
    const entry: SendMessageBatchRequestEntry = {
      Id: '',
      MessageBody: wire.body,
      MessageAttributes: sdkAttributes(wire.attributes),
    };
    if (this.#options.fifo) {
      entry.MessageGroupId = groupIdFor(message, this.#options.defaultGroupId);
      entry.MessageDeduplicationId = deduplicationId(message);
    } else {
      const delay = delaySecondsFor(message.deliverAt, now, this.#options.maxNativeDelaySeconds);
      if (delay > 0) entry.DelaySeconds = delay;
    }
    return entry;
  }
}
