import {
  ConcurrencyGate,
  ConfigurationError,
  type ConsumeOptions,
  type Delivery,
  type DeliveryHandler,
  type NackOptions,
  type Subscription,
  settleOnce,
} from '@switchyard/core/transport';
import type { IncomingRecord, KafkaClient, OutgoingRecord } from './client.js';
import type { ChannelNames } from './names.js';
import type { ResolvedKafkaOptions } from './options.js';
import { closedError, FlowBudget, type Settle, TopicFeed } from './topic-feed.js';
import { type DecodedRecord, fromRecord, redeliveryRecord } from './wire.js';

/** A channel's event subscriptions as provisioned in this transport. */
export interface ChannelSubscriptions {
  /** True when an event with `routingKey` belongs to the channel. */
  matches(routingKey: string): boolean;
  /** Epoch ms of the first provision: on partitions the group never committed, older events predate the subscription. */
  readonly since: number;
}

/** What a channel consumer needs from its transport. */
export interface ChannelConsumerContext {
  readonly client: KafkaClient;
  /** Append records, batched with the transport's other sends; resolves after acks=all. */
  produce(records: readonly OutgoingRecord[]): Promise<void>;
  readonly options: ResolvedKafkaOptions;
  readonly channel: string;
  readonly names: ChannelNames;
  /** Live view of the channel's subscriptions (re-provisioning updates the filter); undefined: consume no events. */
  subscriptions(): ChannelSubscriptions | undefined;
  /** Called once the consumer is closed, so the transport forgets it. */
  onClosed(): void;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5000;

/**
 * The consumer behind `Transport.consume`: three consumer-group members per
 * channel — the channel topic, the events topic filtered by the channel's
 * patterns (only when it has subscriptions), and the delay forwarder. Handlers
 * run through a {@link ConcurrencyGate}; records with the same key run one
 * after another, others in parallel up to `concurrency`. `prefetch` bounds
 * unsettled deliveries over both delivering feeds; at the bound they pause.
 */
export class ChannelConsumer implements Subscription {
  readonly #ctx: ChannelConsumerContext;
  readonly #handler: DeliveryHandler;
  readonly #gate: ConcurrencyGate;
  readonly #budget: FlowBudget;
  readonly #lanes = new Map<string, Promise<void>>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #feeds: TopicFeed[] = [];
  #freshEventPartitions = new Set<number>();
  #closing = false;
  #stopped = false;
  #closed: Promise<void> | undefined;

  constructor(ctx: ChannelConsumerContext, handler: DeliveryHandler, options: ConsumeOptions | undefined) {
    this.#ctx = ctx;
    this.#handler = handler;
    const concurrency = options?.concurrency ?? 1;
    for (const [name, value] of [
      ['concurrency', concurrency],
      ['prefetch', options?.prefetch ?? 1],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new ConfigurationError(`kafka: consume ${name} must be a positive integer, got ${String(value)}`);
      }
    }
    this.#gate = new ConcurrencyGate(concurrency);
    this.#budget = new FlowBudget(
      Math.max(options?.prefetch ?? Math.max(concurrency, ctx.options.defaultPrefetch), concurrency),
    );
  }

  /** Join the groups; resolves once every feed has its first assignment. */
  async start(): Promise<void> {
    const { client, names, options } = this.#ctx;
    const partitionsConcurrently = 4;
    const main = new TopicFeed({
      groupId: names.group,
      topic: names.topic,
      fromBeginning: true,
      budget: this.#budget,
      partitionsConcurrently,
      dispatch: (record, partition, settle) => this.#onChannelRecord(names.topic, record, partition, settle),
    });
    const delay = new TopicFeed({
      groupId: names.delayGroup,
      topic: names.delayTopic,
      fromBeginning: true,
      budget: new FlowBudget(options.maxHeldDelayed),
      partitionsConcurrently,
      dispatch: (record, partition, settle) => this.#onDelayedRecord(record, partition, settle),
    });
    this.#feeds.push(main, delay);
    const topics = [names.topic, names.delayTopic];
    if (this.#ctx.subscriptions()) {
      topics.push(options.eventsTopic);
      const events = new TopicFeed({
        groupId: names.eventsGroup,
        topic: options.eventsTopic,
        fromBeginning: true,
        budget: this.#budget,
        partitionsConcurrently,
        dispatch: (record, partition, settle) => this.#onEventRecord(record, partition, settle),
      });
      this.#feeds.push(events);
    }
    await client.ensureTopics(topics);
    if (this.#feeds.length > 2) {
      const committed = await client.committedOffsets(names.eventsGroup, options.eventsTopic);
      this.#freshEventPartitions = new Set(
        [...committed].filter(([, offset]) => offset < 0n).map(([partition]) => partition),
      );
    }
    const started = await Promise.allSettled(this.#feeds.map((feed) => feed.start(client)));
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      await this.close({ drainTimeoutMs: 0 });
      throw failed.reason;
    }
  }

  close(options?: { drainTimeoutMs?: number }): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      const drained = this.#gate.drain(options?.drainTimeoutMs ?? 30_000);
      await Promise.all(this.#feeds.map((feed) => feed.close(drained)));
      this.#stopped = true;
      this.#ctx.onClosed();
    })();
    return this.#closed;
  }

  #onChannelRecord(topic: string, record: IncomingRecord, partition: number, settle: Settle): void {
    const decoded = fromRecord(topic, partition, record);
    if (decoded.due !== undefined && decoded.due > Date.now()) {
      // Not due yet (a delayed event, or a producer that bypassed the delay topic): park it.
      this.#forward(
        [
          redeliveryRecord(this.#ctx.names.delayTopic, decoded, {
            deliveryCount: decoded.deliveryCount,
            prefix: this.#ctx.options.headerPrefix,
          }),
        ],
        settle,
      );
      return;
    }
    this.#deliver(decoded, `${topic}/${partition}`, settle);
  }

  #onEventRecord(record: IncomingRecord, partition: number, settle: Settle): void {
    const decoded = fromRecord(this.#ctx.options.eventsTopic, partition, record);
    const subscriptions = this.#ctx.subscriptions();
    const wanted =
      subscriptions !== undefined &&
      decoded.routingKey !== undefined &&
      subscriptions.matches(decoded.routingKey) &&
      !(this.#freshEventPartitions.has(partition) && record.timestamp < subscriptions.since);
    if (!wanted) {
      settle();
      return;
    }
    this.#onChannelRecord(this.#ctx.options.eventsTopic, record, partition, settle);
  }

  #onDelayedRecord(record: IncomingRecord, partition: number, settle: Settle): void {
    const decoded = fromRecord(this.#ctx.names.delayTopic, partition, record);
    const forward = (): void =>
      this.#forward(
        [
          redeliveryRecord(this.#ctx.names.topic, decoded, {
            deliveryCount: decoded.deliveryCount,
            due: null,
            prefix: this.#ctx.options.headerPrefix,
          }),
        ],
        settle,
      );
    const wait = (decoded.due ?? 0) - Date.now();
    if (wait <= 0) {
      forward();
      return;
    }
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      forward();
    }, wait);
    this.#timers.add(timer);
  }

  /** Produce `records`, retrying until stored or closing, then settle the source record. */
  #forward(records: readonly OutgoingRecord[], settle: Settle, delayMs = RETRY_MIN_MS): void {
    if (this.#closing) return;
    this.#ctx.produce(records).then(settle, () => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#forward(records, settle, Math.min(delayMs * 2, RETRY_MAX_MS));
      }, delayMs);
      this.#timers.add(timer);
    });
  }

  #deliver(decoded: DecodedRecord, source: string, settle: Settle): void {
    const { channel, names } = this.#ctx;
    const settled = settleOnce(
      async () => {
        if (this.#stopped) throw closedError(channel);
        settle();
      },
      async (nackOptions?: NackOptions) => {
        // After close the record is uncommitted and comes back anyway; re-producing it would duplicate it.
        if (this.#stopped) throw closedError(channel);
        const delayMs = nackOptions?.delayMs ?? 0;
        const due = delayMs > 0 ? Date.now() + delayMs : undefined;
        const topic = due === undefined ? names.topic : names.delayTopic;
        const next = {
          deliveryCount: decoded.deliveryCount + 1,
          due: due ?? null,
          prefix: this.#ctx.options.headerPrefix,
        };
        await this.#ctx.produce([redeliveryRecord(topic, decoded, next)]);
        settle();
      },
    );
    const delivery: Delivery = {
      message: decoded.message,
      channel,
      deliveryCount: decoded.deliveryCount,
      ack: settled.ack,
      nack: settled.nack,
    };
    const run = (): Promise<void> =>
      this.#gate.run(async () => {
        if (this.#closing) return; // left unsettled: redelivered to the next owner
        try {
          await this.#handler(delivery);
        } catch {
          await delivery.nack().catch(() => undefined);
        }
      });
    const key = decoded.message.key;
    if (key === undefined) {
      void run();
      return;
    }
    // Same key, same partition: run one after another so order per key holds with concurrency > 1.
    const lane = `${source}\u0000${key}`;
    const tail = (this.#lanes.get(lane) ?? Promise.resolve()).then(run);
    this.#lanes.set(lane, tail);
    void tail.finally(() => {
      if (this.#lanes.get(lane) === tail) this.#lanes.delete(lane);
    });
  }
}
