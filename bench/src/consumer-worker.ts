import { parentPort } from 'node:worker_threads';
import { startBenchConsumer } from './bench-consumer.js';
import { nowMs } from './contract.js';
import { Latency } from './latency.js';

/** What the producer side asks of this thread: one consumer service for one run. */
export interface ConsumerRun {
  readonly transport: string;
  readonly name: string;
  readonly messages: number;
  readonly concurrency: number;
  readonly prefetch?: number;
  /** See BenchConsumerOptions.inMemoryDeadLetters. */
  readonly inMemoryDeadLetters?: boolean;
  /** Report progress every this many handled messages (the producer's closed loop). */
  readonly progressEvery: number;
}

/**
 * The benchmark's consumer services, in their own thread: its own event loop
 * and connections, as a separate process would have. The thread lives for the
 * whole benchmark and runs one consumer service per run, so that measured
 * rounds find it as warm (JIT, driver code) as the raw baselines, which run in
 * a long-lived thread too. Per run it posts `ready`, `handled` progress, and,
 * once everything is handled and the service stopped, its latency histogram.
 */
parentPort?.on('message', (run: ConsumerRun) => {
  void consume(run).catch((error: unknown) => parentPort?.postMessage({ error: String(error) }));
});

async function consume(run: ConsumerRun): Promise<void> {
  const latency = new Latency();
  let handled = 0;
  const consumer = await startBenchConsumer(run, (sentAt) => {
    latency.record(nowMs() - sentAt);
    handled++;
    if (handled % run.progressEvery === 0 || handled === run.messages) parentPort?.postMessage({ handled });
    if (handled === run.messages) {
      void consumer.stop().then(() => parentPort?.postMessage({ histogram: latency.encode() }));
    }
  });
  parentPort?.postMessage({ ready: true });
}
