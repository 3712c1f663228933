import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { type BenchArgs, type BenchLine, compareLayouts, type SideRun } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { RawMemoryQueue, rawMemoryProducer } from '../raw/memory.js';
import { runLoop } from '../run-loop.js';

/**
 * In-memory: the framework's own cost. Producer and consumer services in one
 * thread on one in-memory broker, against a bare queue of the same encoded
 * bytes driven by the same run loop (`single-thread` only: the in-memory
 * broker does not cross threads). `framework_work_us_per_msg` is the
 * framework's CPU per message minus the raw harness's. Targets: ≥ 100,000
 * msgs/s, framework work ≤ 3 µs per message.
 */
export async function benchMemory(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 200_000;
  const window = args.window ?? 512;
  const broker = new MemoryBroker();
  const framework = (run: SideRun) =>
    runFramework({
      transport: () => new MemoryTransport({ broker }),
      layout: 'single-thread',
      messages: run.messages,
      window,
      concurrency: args.concurrency ?? 64,
      runId: run.tag,
    });
  const raw = (run: SideRun) => {
    const queue = new RawMemoryQueue();
    return runLoop({
      layout: 'single-thread',
      consumer: { kind: 'raw-memory', options: { queue } },
      producer: () => rawMemoryProducer(queue),
      messages: run.messages,
      window,
    });
  };
  const lines = await compareLayouts(
    'memory',
    { ...args, layouts: ['single-thread'], rounds: args.rounds ?? 3 },
    { framework, raw },
    { messages },
  );
  return lines.map((line) => ({
    ...line,
    framework_work_us_per_msg: Math.round((line.cpu_us_per_msg - line.raw_cpu_us_per_msg) * 1_000) / 1_000,
  }));
}
