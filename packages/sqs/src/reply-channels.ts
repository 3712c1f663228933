import {
  CreateQueueCommand,
  DeleteQueueCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  SendMessageCommand,
  type SQSClient,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import {
  type DeliveryHandler,
  ErrorCode,
  type ReplyChannel,
  type ReplyChannels,
  type Subscription,
  type TransportMessage,
} from '@switchyard/core/transport';
import { isMissingQueue, wrapError } from './errors.js';
import { queueName } from './names.js';
import type { QueueRef } from './queue-directory.js';
import { sdkAttributes, toWire } from './wire.js';

/** Tag with the epoch ms of a reply queue's last heartbeat. */
export const HEARTBEAT_TAG = 'switchyard-reply-heartbeat';
/** Tag with the `expireAfterMs` a reply queue was opened with: how old its heartbeat may get. */
export const EXPIRY_TAG = 'switchyard-reply-expire-ms';

/** How long `close` lets running reply handlers finish before it deletes the queue. */
const CLOSE_DRAIN_MS = 1_000;

/** Replies handled at once per reply queue. */
const REPLY_CONCURRENCY = 10;

/** What {@link SqsReplyChannels} borrows from its transport. */
export interface SqsReplySettings {
  readonly sqs: () => SQSClient;
  /** The transport's queue prefix; reply queues are `<queuePrefix>replies-<owner>` (standard queues). */
  readonly queuePrefix: string;
  /** The transport's consumer (long poll, ack = DeleteMessage) on an existing queue. */
  readonly consume: (queue: QueueRef, handler: DeliveryHandler, concurrency: number) => Promise<Subscription>;
  /** Errors of background work (heartbeats, removing stale queues). */
  readonly onError: (error: Error) => void;
}

/**
 * Reply channels on SQS: a standard queue per instance,
 * `<queuePrefix>replies-<owner>`, created by `open` and deleted by `close`.
 * SQS has no queue expiry, so cleanup after a crash works by heartbeat: the
 * queue carries the tag `switchyard-reply-heartbeat` (epoch ms), refreshed
 * every third of `expireAfterMs` while it is open, and `switchyard-reply-expire-ms`;
 * every `open` first deletes the reply queues under the same prefix whose
 * heartbeat is older than their expiry (a crashed instance's queue goes at the
 * next start of any instance on that prefix). Each heartbeat is one TagQueue
 * call. On AWS a queue name cannot be reused for 60 s after its deletion,
 * which matters only for re-opening one owner (core's owners are unique per start).
 *
 * `send` is one SendMessage to the queue URL (the address); a reply to a
 * deleted queue is dropped and `send` resolves. SQS keeps every message
 * durably; that costs nothing extra here.
 */
export class SqsReplyChannels implements ReplyChannels {
  readonly #settings: SqsReplySettings;
  readonly #heartbeats = new Set<NodeJS.Timeout>();

  constructor(settings: SqsReplySettings) {
    this.#settings = settings;
  }

  /** Creates and consumes the queue, then removes stale reply queues of crashed instances. */
  async open(
    owner: string,
    handler: DeliveryHandler,
    options: { readonly expireAfterMs: number },
  ): Promise<ReplyChannel> {
    const { expireAfterMs } = options;
    const sqs = this.#settings.sqs();
    const name = queueName(this.#settings.queuePrefix, `replies-${owner}`, false);
    // First, so that an expired queue of this very owner goes too and the channel starts empty.
    await this.#removeStale(sqs, expireAfterMs).catch((error: unknown) => {
      this.#settings.onError(wrapError(ErrorCode.TransportUnavailable, 'remove stale reply queues', error));
    });
    let url: string;
    try {
      const tags = { [HEARTBEAT_TAG]: String(Date.now()), [EXPIRY_TAG]: String(expireAfterMs) };
      const out = await sqs.send(new CreateQueueCommand({ QueueName: name, tags }));
      if (out.QueueUrl === undefined) throw new Error('CreateQueue returned no QueueUrl');
      url = out.QueueUrl;
    } catch (error) {
      throw wrapError(ErrorCode.TransportUnavailable, `create reply queue '${name}'`, error);
    }
    const subscription = await this.#settings.consume({ channel: name, name, url }, handler, REPLY_CONCURRENCY);
    const heartbeat = setInterval(
      () => {
        sqs
          .send(new TagQueueCommand({ QueueUrl: url, Tags: { [HEARTBEAT_TAG]: String(Date.now()) } }))
          .catch((error: unknown) => {
            this.#settings.onError(
              wrapError(ErrorCode.TransportUnavailable, `heartbeat of reply queue '${name}'`, error),
            );
          });
      },
      Math.max(1, Math.floor(expireAfterMs / 3)),
    );
    heartbeat.unref();
    this.#heartbeats.add(heartbeat);
    let closing: Promise<void> | undefined;
    return {
      address: url,
      close: () => {
        closing ??= (async () => {
          clearInterval(heartbeat);
          this.#heartbeats.delete(heartbeat);
          // The queue is deleted next: a long poll still running (up to waitTimeSeconds) is not worth waiting for.
          await subscription.close({ drainTimeoutMs: CLOSE_DRAIN_MS });
          await deleteQueue(sqs, url);
        })();
        return closing;
      },
    };
  }

  /** Stop every heartbeat, leaving the queues to the next `open`'s cleanup (the transport closes). */
  stopHeartbeats(): void {
    for (const heartbeat of this.#heartbeats) clearInterval(heartbeat);
    this.#heartbeats.clear();
  }

  /** One SendMessage; resolves without sending when the queue is gone, rejects with `SY_SEND_FAILED` otherwise. */
  async send(address: string, message: TransportMessage): Promise<void> {
    const wire = toWire(message);
    try {
      await this.#settings.sqs().send(
        new SendMessageCommand({
          QueueUrl: address,
          MessageBody: wire.body,
          MessageAttributes: sdkAttributes(wire.attributes),
        }),
      );
    } catch (error) {
      if (isMissingQueue(error)) return;
      throw wrapError(ErrorCode.SendFailed, `reply to '${address}'`, error);
    }
  }

  /**
   * Deletes the reply queues under this prefix whose heartbeat is older than their own expiry tag
   * (`fallbackMs` for a queue without one).
   */
  async #removeStale(sqs: SQSClient, fallbackMs: number): Promise<void> {
    const prefix = queueName(this.#settings.queuePrefix, 'replies-', false);
    let token: string | undefined;
    do {
      const page = await sqs.send(
        new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000, NextToken: token }),
      );
      token = page.NextToken;
      for (const url of page.QueueUrls ?? []) {
        const tags = await sqs.send(new ListQueueTagsCommand({ QueueUrl: url })).catch(() => undefined);
        const beat = Number(tags?.Tags?.[HEARTBEAT_TAG]);
        const expiry = Number(tags?.Tags?.[EXPIRY_TAG] ?? fallbackMs);
        if (Number.isFinite(beat) && Date.now() - beat > (Number.isFinite(expiry) ? expiry : fallbackMs)) {
          await deleteQueue(sqs, url);
        }
      }
    } while (token !== undefined);
  }
}

async function deleteQueue(sqs: SQSClient, url: string): Promise<void> {
  try {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  } catch (error) {
    if (!isMissingQueue(error)) throw wrapError(ErrorCode.TransportUnavailable, `delete reply queue ${url}`, error);
  }
}
