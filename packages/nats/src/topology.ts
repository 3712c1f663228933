import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { validatePattern } from '@switchyard/core/transport';
import { ApiCode, isApiError } from './errors.js';
import type { Names } from './names.js';
import type { ResolvedOptions } from './options.js';

/** What an event consumer stores in its description: the channel's patterns, for client-side narrowing. */
interface EventConsumerDescription {
  readonly switchyard: 1;
  readonly patterns: readonly string[];
}

/** The event subscriptions of one channel as the broker has them. */
export interface EventSubscription {
  readonly consumer: string;
  readonly patterns: readonly string[];
}

/**
 * Declares the stream and the consumers. Every method is idempotent and safe
 * to call from several processes at once: JetStream's create calls are
 * idempotent for an identical configuration, and the one update (filter and
 * patterns of an event consumer) converges on the last provision.
 */
export class TopologyManager {
  readonly #names: Names;
  readonly #options: ResolvedOptions;
  readonly #jsm: () => Promise<JetStreamManager>;
  #stream: Promise<void> | undefined;
  readonly #channels = new Map<string, Promise<void>>();

  constructor(names: Names, options: ResolvedOptions, jsm: () => Promise<JetStreamManager>) {
    this.#names = names;
    this.#options = options;
    this.#jsm = jsm;
  }

  /**
   * The stream: file storage, interest retention (a message is removed once every consumer whose
   * filter matches it acknowledged it; one nobody is interested in is not kept), a 2-minute
   * duplicate window for `Nats-Msg-Id`. Created once per transport; a failure is retried on the next call.
   */
  ensureStream(): Promise<void> {
    this.#stream ??= this.#createStream().catch((error: unknown) => {
      this.#stream = undefined;
      throw error;
    });
    return this.#stream;
  }

  /** Forget what was ensured (the stream or a consumer may have been deleted behind our back). */
  forget(): void {
    this.#stream = undefined;
    this.#channels.clear();
    this.#ready.clear();
  }

  /** True once `channel`'s consumer is known to exist: a send need not wait for {@link ensureChannel}. */
  channelReady(channel: string): boolean {
    return this.#ready.has(channel);
  }

  readonly #ready = new Set<string>();

  async #createStream(): Promise<void> {
    const jsm = await this.#jsm();
    const config = {
      name: this.#names.stream,
      subjects: this.#names.streamSubjects,
      retention: RetentionPolicy.Interest,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      duplicate_window: 120_000_000_000,
      max_msg_size: -1,
    };
    try {
      await jsm.streams.info(this.#names.stream);
    } catch (error) {
      if (!isApiError(error, ApiCode.StreamNotFound)) throw error;
      await jsm.streams.add(config);
    }
  }

  /** The durable consumer of `channel`'s own subject, created if missing (so a send is never dropped). */
  ensureChannel(channel: string): Promise<void> {
    let done = this.#channels.get(channel);
    if (!done) {
      done = this.#createChannel(channel).then(
        () => void this.#ready.add(channel),
        (error: unknown) => {
          this.#channels.delete(channel);
          throw error;
        },
      );
      this.#channels.set(channel, done);
    }
    return done;
  }

  async #createChannel(channel: string): Promise<void> {
    await this.ensureStream();
    const jsm = await this.#jsm();
    const name = this.#names.commandConsumer(channel);
    try {
      await jsm.consumers.info(this.#names.stream, name);
    } catch (error) {
      if (!isApiError(error, ApiCode.ConsumerNotFound)) throw error;
      await jsm.consumers.add(this.#names.stream, {
        ...this.#consumerBase(name),
        filter_subject: this.#names.channelSubject(channel),
        deliver_policy: DeliverPolicy.All,
      });
    }
  }

  /**
   * Make `channel`'s event consumer match exactly `patterns`: none deletes it; otherwise it is
   * created (delivering events published from now on) or updated in place (filter and patterns; its
   * position and unacknowledged deliveries are kept, so nothing already stored for it is lost).
   */
  async provisionEvents(channel: string, patterns: readonly string[]): Promise<void> {
    for (const pattern of patterns) validatePattern(pattern);
    const jsm = await this.#jsm();
    const name = this.#names.eventConsumer(channel);
    const existing = await this.#info(jsm, name);
    const wanted = [...new Set(patterns)].sort();
    if (wanted.length === 0) {
      if (existing) await jsm.consumers.delete(this.#names.stream, name).catch(ignoreNotFound);
      return;
    }
    const filter = this.#names.eventFilter(wanted);
    const description = JSON.stringify({ switchyard: 1, patterns: wanted } satisfies EventConsumerDescription);
    if (!existing) {
      await jsm.consumers.add(this.#names.stream, {
        ...this.#consumerBase(name),
        filter_subject: filter,
        description,
        deliver_policy: DeliverPolicy.New,
      });
      return;
    }
    if (existing.config.filter_subject === filter && existing.config.description === description) return;
    await jsm.consumers.update(this.#names.stream, name, { filter_subject: filter, description });
  }

  /** `channel`'s event consumer and its patterns, or undefined when it subscribes to nothing. */
  async eventSubscription(channel: string): Promise<EventSubscription | undefined> {
    const jsm = await this.#jsm();
    const consumer = this.#names.eventConsumer(channel);
    const info = await this.#info(jsm, consumer);
    if (!info) return undefined;
    return { consumer, patterns: parsePatterns(info.config.description) };
  }

  async #info(jsm: JetStreamManager, name: string): Promise<ConsumerInfo | undefined> {
    try {
      return await jsm.consumers.info(this.#names.stream, name);
    } catch (error) {
      if (isApiError(error, ApiCode.ConsumerNotFound)) return undefined;
      throw error;
    }
  }

  #consumerBase(name: string): Partial<ConsumerConfig> {
    return {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: this.#options.ackWaitMs * 1_000_000,
      max_deliver: -1,
      max_ack_pending: this.#options.maxAckPending,
    };
  }
}

function parsePatterns(description: string | undefined): string[] {
  try {
    const parsed = JSON.parse(description ?? '') as Partial<EventConsumerDescription>;
    if (Array.isArray(parsed.patterns) && parsed.patterns.every((p) => typeof p === 'string')) {
      return [...parsed.patterns];
    }
  } catch {
    // Not ours: a consumer without our description narrows nothing away.
  }
  return ['#'];
}

function ignoreNotFound(error: unknown): void {
  if (!isApiError(error, ApiCode.ConsumerNotFound)) throw error;
}
