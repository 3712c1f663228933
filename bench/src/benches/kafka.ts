import { alternate, type BenchArgs, type BenchLine, benchLine, DEFAULT_ROUNDS } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawKafkaBaseline } from '../raw/kafka.js';
import { startKafkaMock } from '../servers.js';

/**
 * Kafka on librdkafka's mock cluster (3 brokers on 127.0.0.1, its own
 * process): the framework's services against raw kafkajs sendBatch + eachBatch
 * with commits, batches of 100 (the transport's produce requests capped at
 * 100 records too), on the same cluster. Target: ratio ≥ 0.85.
 */
export async function benchKafka(args: BenchArgs): Promise<BenchLine> {
  const messages = args.messages ?? 20_000;
  const cluster = await startKafkaMock();
  try {
    const batch = 100;
    const brokers = cluster.address.split(',');
    const frameworkRun = (n: number, suffix: string) =>
      runFramework({
        // The raw baseline fetches with maxWaitTimeInMs 100; the transport's default is 500. The mock
        // holds a fetch that finds no data for the whole wait (new records do not wake it), so unequal
        // waits would measure that setting, not the transport.
        url: `kafka://${cluster.address}?maxWaitTimeMs=100&maxBatchRecords=${batch}`,
        consumerInWorker: true,
        messages: n,
        // The raw producer is open loop (nothing limits how far it runs ahead); the window only has to
        // not bind. End-to-end latency on the mock is ~75 ms (fetch waits), so 2,000 in flight would
        // cap the framework near 2,000 / 75 ms whatever the transport does.
        window: args.window ?? 5_000,
        concurrency: args.concurrency ?? 64,
        prefetch: 1_000,
        runId: `${args.runId}-${suffix}`,
      });
    // Warm both sides first (JIT, connections, topic metadata), so neither pays for running first.
    await frameworkRun(messages, 'warm');
    await rawKafkaBaseline({ brokers, messages, batch });
    const { framework, raw, rounds } = await alternate(
      args.rounds ?? DEFAULT_ROUNDS,
      (round) => frameworkRun(messages, `main${round}`),
      () => rawKafkaBaseline({ brokers, messages, batch }),
    );
    return benchLine('kafka', messages, framework, raw, { batch, rounds });
  } finally {
    await cluster.stop();
  }
}
