import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { ErrorCode, TransportError } from '@switchyard/core/transport';
import { isMissingQueue, wrapError } from './errors.js';
import { queueName } from './names.js';
import type { ResolvedSqsOptions } from './options.js';

/** A resolved channel queue. */
export interface QueueRef {
  readonly channel: string;
  readonly name: string;
  readonly url: string;
}

/**
 * Maps channels to SQS queues and creates them. Lookups are cached per
 * channel for the life of the transport; concurrent lookups of one channel
 * share one request. Safe to call from several tasks at once.
 */
export class QueueDirectory {
  readonly #sqs: SQSClient;
  readonly #options: ResolvedSqsOptions;
  readonly #cache = new Map<string, Promise<QueueRef>>();

  constructor(sqs: SQSClient, options: ResolvedSqsOptions) {
    this.#sqs = sqs;
    this.#options = options;
  }

  /** The physical queue name of `channel`. */
  nameOf(channel: string): string {
    return queueName(this.#options.queuePrefix, channel, this.#options.fifo);
  }

  /**
   * The queue of `channel`. A queue that does not exist is created with the
   * transport's base attributes when `createQueuesOnDemand` is on, else this
   * rejects with `SY_CONFIGURATION`. Failed lookups are not cached.
   */
  resolve(channel: string): Promise<QueueRef> {
    let pending = this.#cache.get(channel);
    if (pending === undefined) {
      pending = this.#lookupOrCreate(channel);
      pending.catch(() => this.#cache.delete(channel));
      this.#cache.set(channel, pending);
    }
    return pending;
  }

  /**
   * Create `channel`'s queue if missing and set `attributes` on it (for an
   * existing queue, SetQueueAttributes: attributes fixed at creation such as
   * FifoQueue are left as they are). Idempotent.
   */
  async declare(channel: string, attributes: Record<string, string>): Promise<QueueRef> {
    const name = this.nameOf(channel);
    let url = await this.#urlOf(name);
    if (url === undefined) url = await this.#create(name, attributes);
    else {
      const { FifoQueue: _fixed, ...settable } = attributes;
      if (Object.keys(settable).length > 0) {
        await this.#call(`set attributes of queue '${name}'`, () =>
          this.#sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: settable })),
        );
      }
    }
    const ref = { channel, name, url };
    this.#cache.set(channel, Promise.resolve(ref));
    return ref;
  }

  /** The ARN of the queue at `url`. */
  async arnOf(url: string): Promise<string> {
    const out = await this.#call('get queue ARN', () =>
      this.#sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] })),
    );
    const arn = out.Attributes?.QueueArn;
    if (arn === undefined) throw new TransportError(ErrorCode.TransportUnavailable, `SQS: queue ${url} has no ARN`);
    return arn;
  }

  /** Base attributes every channel queue gets. */
  baseAttributes(): Record<string, string> {
    const attributes: Record<string, string> = {
      VisibilityTimeout: String(this.#options.visibilityTimeoutSeconds),
    };
    if (this.#options.fifo) attributes.FifoQueue = 'true';
    return attributes;
  }

  /** The queue of `channel` if it exists; never creates it (for read-only callers such as channel stats). */
  async find(channel: string): Promise<QueueRef | undefined> {
    const cached = this.#cache.get(channel);
    if (cached !== undefined) return cached;
    const name = this.nameOf(channel);
    const url = await this.#urlOf(name);
    if (url === undefined) return undefined;
    const ref = { channel, name, url };
    this.#cache.set(channel, Promise.resolve(ref));
    return ref;
  }

  /**
   * An existing queue that Switchyard does not own, by name or URL; rejects
   * with `SY_CONFIGURATION` when it does not exist. Never creates it.
   */
  async existing(endpoint: string): Promise<QueueRef> {
    if (/^https?:\/\//.test(endpoint)) {
      return { channel: endpoint, name: endpoint.slice(endpoint.lastIndexOf('/') + 1), url: endpoint };
    }
    const url = await this.#urlOf(endpoint);
    if (url === undefined) {
      throw new TransportError(ErrorCode.Configuration, `SQS: queue '${endpoint}' does not exist`);
    }
    return { channel: endpoint, name: endpoint, url };
  }

  async #lookupOrCreate(channel: string): Promise<QueueRef> {
    const name = this.nameOf(channel);
    const url = await this.#urlOf(name);
    if (url !== undefined) return { channel, name, url };
    if (!this.#options.createQueuesOnDemand) {
      throw new TransportError(
        ErrorCode.Configuration,
        `SQS: queue '${name}' of channel '${channel}' does not exist; provision the topology first`,
      );
    }
    return { channel, name, url: await this.#create(name, this.baseAttributes()) };
  }

  async #urlOf(name: string): Promise<string | undefined> {
    try {
      const out = await this.#sqs.send(new GetQueueUrlCommand({ QueueName: name }));
      return out.QueueUrl;
    } catch (error) {
      if (isMissingQueue(error)) return undefined;
      throw wrapError(ErrorCode.TransportUnavailable, `look up queue '${name}'`, error);
    }
  }

  async #create(name: string, attributes: Record<string, string>): Promise<string> {
    try {
      const out = await this.#sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      if (out.QueueUrl === undefined) throw new Error('CreateQueue returned no QueueUrl');
      return out.QueueUrl;
    } catch (error) {
      // Another process created it first, with other attributes: use theirs.
      const url = await this.#urlOf(name).catch(() => undefined);
      if (url !== undefined) return url;
      throw wrapError(ErrorCode.TransportUnavailable, `create queue '${name}'`, error);
    }
  }

  async #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw wrapError(ErrorCode.TransportUnavailable, what, error);
    }
  }
}
