import { parentPort, workerData } from 'node:worker_threads';
import { createService } from '@switchyard/core';
import { BenchCommand, nowMs } from './contract.js';
import { Latency } from './latency.js';

/** The benchmark's consumer service in its own thread; reports its latency histogram when all messages are handled. */
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
    if (++handled === options.messages) {
      void consumer.stop().then(() => parentPort?.postMessage({ histogram: latency.encode() }));
    }
  },
  { distributed: true },
);
await consumer.start();
parentPort?.postMessage('ready');
