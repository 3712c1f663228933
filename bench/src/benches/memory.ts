import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { type BenchArgs, type BenchLine, benchLine } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawMemoryBaseline } from '../raw/memory.js';

/**
 * In-memory: the framework's own cost. Producer and consumer services in one
 * process on one in-memory broker, against a bare queue of the same encoded
 * bytes. Targets: ≥ 100,000 msgs/s and ≤ 10 µs of CPU per message.
 */
export async function benchMemory(args: BenchArgs): Promise<BenchLine> {
  const messages = args.messages ?? 200_000;
  const broker = new MemoryBroker();
  const run = (n: number, suffix: string) =>
    runFramework({
      transport: () => new MemoryTransport({ broker }),
      messages: n,
      window: args.window ?? 512,
      concurrency: args.concurrency ?? 64,
      runId: `${args.runId}-${suffix}`,
    });
  await run(20_000, 'warm'); // JIT and caches, not reported
  const framework = await run(messages, 'main');
  const rawCpu = process.cpuUsage();
  const raw = await rawMemoryBaseline({ messages });
  const rawCpuUs = process.cpuUsage(rawCpu);
  const rawUsPerMsg = Math.round(((rawCpuUs.user + rawCpuUs.system) / messages) * 1_000) / 1_000;
  console.log(
    `memory: the raw queue's own work (payload, JSON, histogram) costs ${rawUsPerMsg} µs CPU/msg of the framework's figure`,
  );
  return benchLine('memory', messages, framework, raw, { raw_cpu_us_per_msg: rawUsPerMsg });
}
