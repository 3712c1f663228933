import { parentPort, workerData } from 'node:worker_threads';
import { type ConsumerSpec, type RunningConsumer, startConsumer } from './consumer-spec.js';
import { nowMs } from './contract.js';
import { Latency } from './latency.js';
import { setTelemetryMode } from './telemetry-mode.js';

// The main thread's `--telemetry` mode (run-loop.ts passes it): this thread's services are traced the same way.
setTelemetryMode((workerData as { telemetry?: string } | null)?.telemetry);

/** What the main thread asks of this thread: one consumer for one run. */
export interface ConsumerRun {
  readonly spec: ConsumerSpec;
  readonly messages: number;
  /** Report progress every this many handled messages (the producer's closed loop). */
  readonly progressEvery: number;
}

/**
 * The `consumer-worker` layout's consumer thread: its own event loop and
 * connections, as a separate process would have. The thread lives for the
 * whole benchmark and runs one consumer per run, framework and raw alike, so
 * every measured round finds it equally warm. Per run it posts `ready`,
 * `handled` progress, and, once everything is handled and the consumer
 * stopped, its latency histogram.
 */
parentPort?.on('message', (run: ConsumerRun) => {
  void consume(run).catch((error: unknown) => parentPort?.postMessage({ error: String(error) }));
});

async function consume(run: ConsumerRun): Promise<void> {
  const latency = new Latency();
  let handled = 0;
  let consumer: RunningConsumer | undefined;
  let finished = false;
  const finish = () => {
    if (finished || consumer === undefined || handled < run.messages) return;
    finished = true;
    void consumer.stop().then(
      () => parentPort?.postMessage({ histogram: latency.encode() }),
      (error: unknown) => parentPort?.postMessage({ error: String(error) }),
    );
  };
  consumer = await startConsumer(run.spec, (sentAt) => {
    latency.record(nowMs() - sentAt);
    handled++;
    if (handled % run.progressEvery === 0 || handled === run.messages) parentPort?.postMessage({ handled });
    if (handled === run.messages) finish();
  });
  parentPort?.postMessage({ ready: true });
  finish();
}
