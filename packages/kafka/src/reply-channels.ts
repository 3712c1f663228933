import { randomUUID } from 'node:crypto';
import {
  type Delivery,
  type DeliveryHandler,
  ErrorCode,
  type NackOptions,
  type ReplyChannel,
  type ReplyChannels,
  settleOnce,
  TransportError,
  type TransportMessage,
} from '@switchyard/core/transport';
import type { GroupConsumer, IncomingBatch, KafkaClient, OutgoingRecord } from './client.js';
import { type DecodedRecord, fromRecord, InternalHeader, toRecord } from './wire.js';

/** Header naming the instance a reply is for (also the record key, so one instance's replies share a partition). */
const OWNER_HEADER = 'x-sy-reply-owner';
/** Header carrying the reply's own ordering key, since the record key is the owner. */
const KEY_HEADER = 'x-sy-reply-key';
/** Header of the marker record `open` writes to learn that its consumer reads from a position before it. */
const MARKER_HEADER = 'x-sy-reply-marker';
/** How often `open` writes its marker again until the consumer sees one. */
const MARKER_EVERY_MS = 500;

/** What {@link KafkaReplyChannels} borrows from its transport. */
export interface KafkaReplySettings {
  readonly client: KafkaClient;
  /** The transport's produce (ensures the topic, batches, acks=all). */
  readonly produce: (records: readonly OutgoingRecord[]) => Promise<void>;
  /** The reply topic: `<topicPrefix>replies`, one for every instance under the prefix. */
  readonly topic: string;
  readonly headerPrefix: 'ce_' | 'ce-';
  /** How long `open` waits for its consumer to join and see its marker. */
  readonly openTimeoutMs: number;
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
 * The group starts at the end of the topic; `open` resolves once the consumer
 * has read a marker record it wrote after joining, so no reply sent later can
 * fall before its start position. Offsets are committed after each batch, so
 * a rebalance resumes where it was. Costs per instance start: one group join
 * (Kafka's `group.initial.rebalance.delay.ms`, 3 s by default) and one marker
 * record; every instance fetches every reply of the prefix and drops the
 * others' (cheap at reply sizes; use a prefix per application to bound it).
 *
 * `close` leaves the group; Kafka removes an empty group's offsets after
 * `offsets.retention.minutes`, and the records go with the topic's retention
 * (give `<topicPrefix>replies` a short `retention.ms`). A crashed instance's
 * member is dropped after the session timeout: nothing else is left to clean.
 * A reply to an instance that is gone is written and never read: `send`
 * cannot tell, and resolves. `nack` writes the reply to the topic again
 * (delivery count + 1), as a channel's nack does.
 */
export class KafkaReplyChannels implements ReplyChannels {
  readonly #settings: KafkaReplySettings;

  constructor(settings: KafkaReplySettings) {
    this.#settings = settings;
  }

  /** Joins the instance's group and resolves once it reads from a position before every later reply. */
  async open(owner: string, handler: DeliveryHandler): Promise<ReplyChannel> {
    const { client, topic, openTimeoutMs } = this.#settings;
    const group = `${topic}.${owner}`;
    const marker = randomUUID();
    let ready!: () => void;
    const seen = new Promise<void>((resolve) => {
      ready = resolve;
    });
    let consumer: GroupConsumer | undefined;
    const onBatch = async (batch: IncomingBatch, control: { markTaken(offset: string): void }) => {
      let last: string | undefined;
      for (const record of batch.records) {
        last = record.offset;
        control.markTaken(record.offset);
        if (record.headers[OWNER_HEADER] !== owner) continue;
        if (record.headers[MARKER_HEADER] !== undefined) {
          if (record.headers[MARKER_HEADER] === marker) ready();
          continue;
        }
        const decoded = fromRecord(batch.topic, batch.partition, record);
        void this.#deliver(owner, handler, withOwnKey(decoded, record.headers[KEY_HEADER]));
      }
      if (last !== undefined) {
        // Not awaited: a lost commit only means a rebalance re-reads a few replies, which core drops as unknown.
        consumer
          ?.commit([{ topic: batch.topic, partition: batch.partition, offset: String(BigInt(last) + 1n) }])
          .catch(() => undefined);
      }
    };
    await client.ensureTopics([topic]);
    consumer = await client.startConsumer({
      groupId: group,
      topics: [{ topic, fromBeginning: false }],
      partitionsConcurrently: 1,
      onBatch,
      onAssignment: () => undefined,
    });
    try {
      await this.#awaitMarker(owner, marker, seen, openTimeoutMs);
    } catch (error) {
      await consumer.stop();
      throw error;
    }
    let closing: Promise<void> | undefined;
    const joined = consumer;
    return {
      address: `${topic}:${owner}`,
      close: () => {
        closing ??= joined.stop();
        return closing;
      },
    };
  }

  /** Produces the reply (acks=all) to the reply topic, for the owner named in `address`. */
  async send(address: string, message: TransportMessage): Promise<void> {
    const colon = address.indexOf(':');
    if (colon <= 0)
      throw new TransportError(ErrorCode.SendFailed, `kafka: '${address}' is no reply address (<topic>:<owner>)`);
    await this.#settings.produce([this.#record(address.slice(0, colon), address.slice(colon + 1), message)]);
  }

  #record(topic: string, owner: string, message: TransportMessage, internal?: Record<string, string>): OutgoingRecord {
    const headers: Record<string, string> = { ...internal, [OWNER_HEADER]: owner };
    if (message.key !== undefined) headers[KEY_HEADER] = message.key;
    const record = toRecord(topic, message, headers, this.#settings.headerPrefix);
    return { ...record, key: owner };
  }

  /** Writes the marker until the consumer reads it (its position is then before anything written later). */
  async #awaitMarker(owner: string, marker: string, seen: Promise<void>, timeoutMs: number): Promise<void> {
    const { topic, produce } = this.#settings;
    const record: OutgoingRecord = {
      topic,
      key: owner,
      value: new Uint8Array(0),
      headers: { [OWNER_HEADER]: owner, [MARKER_HEADER]: marker },
    };
    const deadline = Date.now() + timeoutMs;
    let found = false;
    void seen.then(() => {
      found = true;
    });
    while (!found) {
      if (Date.now() > deadline) {
        throw new TransportError(
          ErrorCode.Timeout,
          `kafka: the reply consumer of '${owner}' did not start within ${timeoutMs} ms`,
        );
      }
      await produce([record]);
      await Promise.race([seen, new Promise((resolve) => setTimeout(resolve, MARKER_EVERY_MS))]);
    }
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

/** `decoded` with the reply's own key (the record key was the owner). */
function withOwnKey(decoded: DecodedRecord, key: string | undefined): DecodedRecord {
  const { key: _owner, ...message } = decoded.message;
  return { ...decoded, message: key === undefined ? message : { ...message, key } };
}
