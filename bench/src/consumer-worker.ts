import { parentPort, workerData } from 'node:worker_threads';
import { createService } from '@switchyard/core';
import { BenchCommand, nowMs } from './contract.js';
import { PROGRESS_EVERY } from './framework-run.js';
import { Latency } from './latency.js';

/**
 * The benchmark's consumer service in its own thread. Reports progress every
 * PROGRESS_EVERY messages (the producer's closed loop) and, once everything is
 * handled and the service stopped, its latency histogram.
 */
const options = workerData as { url: string; name: string; messages: number; concurrency: number; prefetch?: number };
const latency = new Latency();
let handled = 0;
const consumer = createService({
  name: options.name,
  transport: options.url,
  concurrency: options.concurrency,
  handleSignals: false,
  ...(options.prefetch ? { prefetch: options.prefetch } : {}),
});
consumer.handle(
  BenchCommand,
  (command) => {
    latency.record(nowMs() - command.sentAt);
    handled++;
    if (handled % PROGRESS_EVERY === 0 || handled === options.messages) parentPort?.postMessage({ handled });
    if (handled === options.messages) {
      void consumer.stop().then(() => parentPort?.postMessage({ histogram: latency.encode() }));
    }
  },
  { distributed: true },
);
await consumer.start();
parentPort?.postMessage({ ready: true });
