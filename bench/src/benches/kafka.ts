import { type BenchArgs, type BenchLine, compareLayouts, loopSide, type SideRun } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { kafkaHasController, rawKafkaProducer } from '../raw/kafka.js';
import { startKafkaMock } from '../servers.js';

/**
 * Kafka on librdkafka's mock cluster (3 brokers on 127.0.0.1, its own
 * process): the framework's services against raw kafkajs in the same layout
 * and loop (produce requests of up to 100 records, one in flight; eachBatch
 * with commits, fetch wait 100 ms). Target: ratio ≥ 0.85.
 */
export async function benchKafka(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 20_000;
  const cluster = await startKafkaMock();
  try {
    const batch = 100;
    const brokers = cluster.address.split(',');
    const hasController = await kafkaHasController(brokers);
    // End-to-end latency on the mock is ~75 ms (fetch waits): the window must not be what limits either side.
    const window = args.window ?? 5_000;
    const framework = (run: SideRun) =>
      runFramework({
        // The raw consumer fetches with maxWaitTimeInMs 100; the transport's default is 500. The mock
        // holds a fetch that finds no data for the whole wait (new records do not wake it), so unequal
        // waits would measure that setting, not the transport.
        url: `kafka://${cluster.address}?maxWaitTimeMs=100&maxBatchRecords=${batch}`,
        layout: run.layout,
        messages: run.messages,
        window,
        concurrency: args.concurrency ?? 64,
        prefetch: 1_000,
        runId: run.tag,
        ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
      });
    const raw = (run: SideRun) => {
      const options = { brokers, topic: `sy-bench.raw.${run.tag}`, batch, hasController };
      return loopSide(run, { kind: 'raw-kafka', options }, () => rawKafkaProducer(options), window);
    };
    return await compareLayouts(
      'kafka',
      args,
      { framework, raw },
      { messages, halfLoad: true, extra: { batch, window } },
    );
  } finally {
    await cluster.stop();
  }
}
