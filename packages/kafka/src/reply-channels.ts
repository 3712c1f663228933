import {
  type Delivery,
  type DeliveryHandler,
  ErrorCode,
  type NackOptions,
  type ReplyChannel,
  type ReplyChannels,
  SwitchyardError,
  settleOnce,
  TransportError,
  type TransportMessage,
} from '@switchyard/core/transport';
import type { BatchControl, GroupConsumer, IncomingBatch, KafkaClient, OutgoingRecord } from './client.js';
import { type DecodedRecord, fromRecord, InternalHeader, toRecord } from './wire.js';

/** Header naming the instance a reply is for (also the record key, so one instance's replies share a partition). */
const OWNER_HEADER = 'x-sy-reply-owner';
/** Header carrying the reply's own ordering key, since the record key is the owner. */
const KEY_HEADER = 'x-sy-reply-key';
/** Backoff bounds of joining the reply group again after a failed attempt. */
const JOIN_RETRY_MS = { first: 250, max: 10_000 } as const;

/** What {@link KafkaReplyChannels} borrows from its transport. */
export interface KafkaReplySettings {
  readonly client: KafkaClient;
  /** The transport's produce (ensures the topic, batches, acks=all). */
  readonly produce: (records: readonly OutgoingRecord[]) => Promise<void>;
  /** The reply topic: `<topicPrefix>replies`, one for every instance under the prefix. */
  readonly topic: string;
  readonly headerPrefix: 'ce_' | 'ce-';
  /** Where a failed join of a reply group is reported (it is retried). */
  readonly onError: (error: unknown) => void;
}

/**
 * Reply channels on Kafka: one reply topic per transport prefix,
 * `<topicPrefix>replies`, which every instance reads through a consumer
 * group of its own (`<topicPrefix>replies.<owner>`), keeping only the records
 * whose `x-sy-reply-owner` header names it. The record key is the owner, so
 * an instance's replies share one partition. The address is `<topic>:<owner>`
 * (a colon is never part of a topic name).
 *
 * Why not a topic per instance: topics are cluster metadata (partitions on
 * every broker, a controller round trip to create and delete), too heavy for
 * something every process start makes, and librdkafka's mock cannot delete
 * them. Why a group per instance: every instance must read every partition.
 *
 * `open` reads the topic's end offsets and resolves; the group joins in the
 * background (Kafka's `group.initial.rebalance.delay.ms`, 3 s by default).
 * After every (re)join the member seeks each partition to where it stopped,
 * or to those end offsets, so it reads every reply written after `open`, once,
 * and nothing from before, whatever rebalances happen. Replies that arrive
 * meanwhile wait in the topic. Nothing is committed. Every instance fetches
 * every reply of the prefix and drops the others' (cheap at reply sizes; a
 * prefix per application bounds it).
 *
 * `close` leaves the group, which has no offsets to keep; the records go with the topic's retention
 * (give `<topicPrefix>replies` a short `retention.ms`). A crashed instance's
 * member is dropped after the session timeout: nothing else is left to clean.
 * A reply to an instance that is gone is written and never read: `send`
 * cannot tell, and resolves. `nack` writes the reply to the topic again
 * (delivery count + 1), as a channel's nack does.
 */
export class KafkaReplyChannels implements ReplyChannels {
  readonly #settings: KafkaReplySettings;
  readonly #members = new Set<ReplyMember>();

  constructor(settings: KafkaReplySettings) {
    this.#settings = settings;
  }

  /** Fixes the start position (end of the topic now) and starts joining the instance's group; see the class comment. */
  async open(owner: string, handler: DeliveryHandler): Promise<ReplyChannel> {
    const { client, topic } = this.#settings;
    await client.ensureTopics([topic]);
    const startAt = new Map(
      [...(await client.topicOffsets(topic))].map(([partition, { high }]) => [partition, `${high}`]),
    );
    const member = new ReplyMember(this.#settings, owner, startAt, (decoded) => this.#deliver(owner, handler, decoded));
    this.#members.add(member);
    member.start();
    const close = async () => {
      await member.stop();
      this.#members.delete(member);
    };
    return { address: `${topic}:${owner}`, close };
  }

  /**
   * Leave every reply group, after the joins under way (the transport closes): a member
   * still joining when the client disconnects would otherwise be restarted by kafkajs.
   */
  async stopAll(): Promise<void> {
    await Promise.all([...this.#members].map((member) => member.stop()));
    this.#members.clear();
  }

  /** Produces the reply (acks=all) to the reply topic, for the owner named in `address`. */
  async send(address: string, message: TransportMessage): Promise<void> {
    const colon = address.indexOf(':');
    if (colon <= 0) {
      throw new TransportError(ErrorCode.SendFailed, `kafka: '${address}' is no reply address (<topic>:<owner>)`);
    }
    await this.#settings.produce([this.#record(address.slice(0, colon), address.slice(colon + 1), message)]);
  }

  #record(topic: string, owner: string, message: TransportMessage, internal?: Record<string, string>): OutgoingRecord {
    const headers: Record<string, string> = { ...internal, [OWNER_HEADER]: owner };
    if (message.key !== undefined) headers[KEY_HEADER] = message.key;
    return { ...toRecord(topic, message, headers, this.#settings.headerPrefix), key: owner };
  }

  async #deliver(owner: string, handler: DeliveryHandler, decoded: DecodedRecord): Promise<void> {
    const { topic, produce } = this.#settings;
    const settle = settleOnce(
      async () => undefined,
      async (options?: NackOptions) => {
        const { deliverAt: _due, ...message } = decoded.message;
        const count = { [InternalHeader.deliveryCount]: String(decoded.deliveryCount + 1) };
        const record = this.#record(topic, owner, message, count);
        if (options?.delayMs) setTimeout(() => void produce([record]).catch(() => undefined), options.delayMs).unref();
        else await produce([record]);
      },
    );
    const delivery: Delivery = {
      message: decoded.message,
      channel: topic,
      deliveryCount: decoded.deliveryCount,
      ...settle,
    };
    try {
      await handler(delivery);
    } catch {
      await delivery.nack().catch(() => undefined);
    }
  }
}

/** The group member of one reply channel: joins in the background (retrying), seeks, filters, leaves. */
class ReplyMember {
  readonly #settings: KafkaReplySettings;
  readonly #owner: string;
  readonly #startAt: ReadonlyMap<number, string>;
  readonly #deliver: (decoded: DecodedRecord) => Promise<void>;
  /**
   * Next offset to read, by partition, as far as this member took records. Kept here, not
   * committed: after any (re)join the member seeks to it, or to the start position.
   */
  readonly #next = new Map<number, string>();
  #consumer: GroupConsumer | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(
    settings: KafkaReplySettings,
    owner: string,
    startAt: ReadonlyMap<number, string>,
    deliver: (decoded: DecodedRecord) => Promise<void>,
  ) {
    this.#settings = settings;
    this.#owner = owner;
    this.#startAt = startAt;
    this.#deliver = deliver;
  }

  start(): void {
    this.#starting = this.#join();
  }

  /** Leaves the group (after a join under way). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#starting;
      await this.#consumer?.stop();
    })();
    return this.#stopping;
  }

  async #join(): Promise<void> {
    const { client, topic } = this.#settings;
    for (let delay: number = JOIN_RETRY_MS.first; this.#stopping === undefined; ) {
      try {
        this.#consumer = await client.startConsumer({
          groupId: `${topic}.${this.#owner}`,
          topics: [{ topic, fromBeginning: false, positionOf: (partition) => this.#positionOf(partition) }],
          partitionsConcurrently: 1,
          onBatch: (batch, control) => this.#onBatch(batch, control),
          onAssignment: () => undefined,
        });
        return;
      } catch (error) {
        // The transport closed: nothing will ever join again.
        if (error instanceof SwitchyardError && error.code === ErrorCode.Closed) return;
        this.#settings.onError(error);
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, JOIN_RETRY_MS.max);
      }
    }
  }

  /** Next offset to read: after what this member took, else where the channel started. */
  #positionOf(partition: number): string | undefined {
    return this.#next.get(partition) ?? this.#startAt.get(partition);
  }

  async #onBatch(batch: IncomingBatch, control: BatchControl): Promise<void> {
    for (const record of batch.records) {
      // A batch of an older generation (a rebalance meanwhile): the next join seeks back to what was taken.
      if (!control.isActive()) return;
      control.markTaken(record.offset);
      this.#next.set(batch.partition, String(BigInt(record.offset) + 1n));
      if (record.headers[OWNER_HEADER] !== this.#owner) continue;
      const decoded = fromRecord(batch.topic, batch.partition, record);
      void this.#deliver(withOwnKey(decoded, record.headers[KEY_HEADER]));
    }
  }
}

/** `decoded` with the reply's own key (the record key was the owner). */
function withOwnKey(decoded: DecodedRecord, key: string | undefined): DecodedRecord {
  const { key: _owner, ...message } = decoded.message;
  return { ...decoded, message: key === undefined ? message : { ...message, key } };
}
