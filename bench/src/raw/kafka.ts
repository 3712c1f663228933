import { randomBytes, randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import { benchHeaders, benchPayload, readRawMessage } from '../contract.js';

const { Kafka, Partitioners, logLevel } = kafkajs;

/**
 * The raw-driver baseline for the Kafka transport: the same work with plain
 * kafkajs and nothing else. One producer appends `messages` records with
 * acks=all (`sendBatch`, `batch` records per call, each call awaited; the same
 * idempotence and in-flight settings as the transport, so against a cluster
 * without a controller — librdkafka's mock — idempotence is off). One consumer
 * group member reads them with `eachBatch`, reads every record (headers
 * decoded, JSON payload parsed), marks it and commits
 * the batch's next offset after it — the transport also commits after
 * handling. Records carry a UUID id in CloudEvents-shaped headers, a key and the
 * benchmark's JSON body. The consumer joins before the clock starts (group joins are not
 * throughput). Returns end-to-end throughput: records divided by the time from
 * the first send to the last commit.
 *
 * Uses its own random topic and group; the cluster at `brokers` may be shared.
 */
export async function rawKafkaBaseline(opts: {
  brokers: string[];
  messages: number;
  batch: number;
}): Promise<{ msgsPerSec: number }> {
  const { brokers, messages, batch } = opts;
  const suffix = randomBytes(6).toString('hex');
  const topic = `sy-bench.raw.${suffix}`;
  const kafka = new Kafka({ brokers, clientId: 'sy-bench-raw', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  const hasController = cluster.brokers.some((b) => b.nodeId === cluster.controller);
  if (hasController) await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
  else await admin.fetchTopicMetadata({ topics: [topic] });
  const producer = kafka.producer({
    idempotent: hasController,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  const consumer = kafka.consumer({ groupId: `sy-bench.raw.${suffix}`, maxWaitTimeInMs: 100 });
  try {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let received = 0;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // As many as the transport (channel-consumer.ts); the mock auto-creates topics with 4 partitions.
      partitionsConsumedConcurrently: 4,
      eachBatch: async ({ batch: fetched, resolveOffset }) => {
        for (const record of fetched.messages) {
          readRawMessage(record.headers ?? {}, record.value?.toString() ?? 'null');
          resolveOffset(record.offset);
        }
        const last = fetched.messages[fetched.messages.length - 1];
        if (!last) return;
        await consumer.commitOffsets([
          { topic, partition: fetched.partition, offset: (BigInt(last.offset) + 1n).toString() },
        ]);
        received += fetched.messages.length;
        if (received >= messages) finish();
      },
    });
    const start = performance.now();
    for (let sent = 0; sent < messages; sent += batch) {
      const records = [];
      for (let i = sent; i < Math.min(sent + batch, messages); i++) {
        const id = randomUUID();
        records.push({ key: `key-${i % 16}`, value: JSON.stringify(benchPayload(i)), headers: benchHeaders(id) });
      }
      await producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages: records }] });
    }
    await done;
    const seconds = (performance.now() - start) / 1000;
    return { msgsPerSec: Math.round(messages / seconds) };
  } finally {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}
