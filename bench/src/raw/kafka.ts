import { randomUUID } from 'node:crypto';
import { SendBatcher } from '@switchyard/core/transport';
import kafkajs from 'kafkajs';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchHeaders, benchPayload, readRawMessage } from '../contract.js';
import type { BenchProducer } from '../run-loop.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

/** Options of both halves of the raw Kafka baseline. */
export interface RawKafkaOptions {
  readonly brokers: string[];
  /** A fresh topic (and group) per run. */
  readonly topic: string;
  /** Records per produce request at most (the transport's `maxBatchRecords`). */
  readonly batch: number;
  /** Whether the cluster has a controller (librdkafka's mock has none: no idempotence, topics auto-created). */
  readonly hasController: boolean;
}

/** Whether the cluster at `brokers` has a controller; asked once per benchmark. */
export async function kafkaHasController(brokers: string[]): Promise<boolean> {
  const admin = new Kafka({ brokers, clientId: 'sy-bench-raw', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    return cluster.brokers.some((b) => b.nodeId === cluster.controller);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The raw baseline's consumer: plain kafkajs, one group member reading with
 * `eachBatch` (fetch wait 100 ms, 4 partitions at once, as the transport),
 * each record read (headers decoded, JSON payload parsed) and handled, the
 * batch's next offset committed after it. Creates the topic; resolves once
 * the member joined its group (joins are not throughput).
 */
export async function startRawKafkaConsumer(options: RawKafkaOptions, onHandled: OnHandled): Promise<RunningConsumer> {
  const { brokers, topic } = options;
  const kafka = new Kafka({ brokers, clientId: 'sy-bench-raw', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  if (options.hasController) await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  else await admin.fetchTopicMetadata({ topics: [topic] });
  const consumer = kafka.consumer({ groupId: topic, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch: fetched, resolveOffset }) => {
      for (const record of fetched.messages) {
        const payload = readRawMessage(record.headers ?? {}, record.value?.toString() ?? 'null') as { sentAt: number };
        onHandled(payload.sentAt);
        resolveOffset(record.offset);
      }
      const last = fetched.messages[fetched.messages.length - 1];
      if (!last) return;
      await consumer.commitOffsets([
        { topic, partition: fetched.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ]);
    },
  });
  await joined;
  return {
    async stop() {
      await consumer.disconnect().catch(() => undefined);
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect().catch(() => undefined);
    },
  };
}

/**
 * The raw baseline's producer: plain kafkajs with acks=all and the
 * transport's idempotence and in-flight settings; concurrent sends coalesce
 * into one `sendBatch` of up to `batch` records at a time (the transport's
 * record producer does the same). Records carry a UUID id in the framework's
 * headers, a key and the JSON body.
 */
export async function rawKafkaProducer(options: RawKafkaOptions): Promise<BenchProducer> {
  const kafka = new Kafka({ brokers: options.brokers, clientId: 'sy-bench-raw', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({
    idempotent: options.hasController,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  type KafkaRecord = { key: string; value: string; headers: Record<string, string> };
  const batches = new SendBatcher<KafkaRecord>(
    async (records) => {
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic: options.topic, messages: records }] });
    },
    { maxBatch: options.batch, maxInFlight: 1 },
  );
  return {
    send(seq) {
      const id = randomUUID();
      return batches.submit([
        {
          key: `key-${seq % 16}`,
          value: JSON.stringify(benchPayload(seq)),
          headers: benchHeaders(id),
        },
      ]);
    },
    async stop() {
      await producer.disconnect().catch(() => undefined);
    },
  };
}
