import { parseArgs } from 'node:util';
import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { type RunResult, round, runFramework } from './framework-run.js';
import { rawMemoryBaseline } from './raw/memory.js';

/**
 * `npm run bench -- <transport> [--messages N]`: the framework against the raw
 * driver doing the same durable work, in the same run. The last line printed
 * is one JSON object in the benchmark format.
 */
const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { messages: { type: 'string' }, window: { type: 'string' }, concurrency: { type: 'string' } },
});
const target = positionals[0] ?? 'memory';
const runId = `${process.pid}-${Date.now().toString(36)}`;

interface BenchLine {
  transport: string;
  messages: number;
  framework_msgs_per_s: number;
  raw_msgs_per_s: number;
  ratio: number;
  p50_ms: number;
  p99_ms: number;
  cpu_us_per_msg: number;
  [extra: string]: unknown;
}

async function benchMemory(): Promise<BenchLine> {
  const messages = Number(values.messages ?? 200_000);
  const broker = new MemoryBroker();
  const run = (n: number) =>
    runFramework({
      transport: () => new MemoryTransport({ broker }),
      messages: n,
      window: Number(values.window ?? 512),
      concurrency: Number(values.concurrency ?? 64),
      runId: `${runId}-${n}`,
    });
  await run(20_000); // warm-up: JIT and caches, not reported
  const framework: RunResult = await run(messages);
  const raw = await rawMemoryBaseline({ messages });
  console.log(
    `memory framework: ${framework.msgsPerSec} msgs/s, p50 ${framework.p50Ms} ms, p99 ${framework.p99Ms} ms, ${framework.cpuUsPerMsg} µs CPU/msg`,
  );
  console.log(`memory raw queue of encoded bytes: ${raw.msgsPerSec} msgs/s`);
  return {
    transport: 'memory',
    messages,
    framework_msgs_per_s: framework.msgsPerSec,
    raw_msgs_per_s: raw.msgsPerSec,
    ratio: round(framework.msgsPerSec / raw.msgsPerSec),
    p50_ms: framework.p50Ms,
    p99_ms: framework.p99Ms,
    cpu_us_per_msg: framework.cpuUsPerMsg,
  };
}

const benches: Record<string, () => Promise<BenchLine>> = { memory: benchMemory };
const bench = benches[target];
if (!bench) {
  console.error(`unknown benchmark '${target}': choose one of ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
const line = await bench();
console.log(JSON.stringify(line));
process.exit(0);
