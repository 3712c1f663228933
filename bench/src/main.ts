import { parseArgs } from 'node:util';
import type { BenchArgs, BenchLine } from './bench-line.js';
import { benchKafka } from './benches/kafka.js';
import { benchMemory } from './benches/memory.js';
import { benchNats } from './benches/nats.js';
import { benchPostgres } from './benches/postgres.js';
import { benchRabbitmq } from './benches/rabbitmq.js';
import { benchRedis } from './benches/redis.js';
import { benchSqlite } from './benches/sqlite.js';
import { benchSqs } from './benches/sqs.js';
import { exportedSpans, setTelemetryMode } from './telemetry-mode.js';

/**
 * `npm run bench -- <transport> [--messages N] [--window N] [--concurrency N] [--rounds N] [--telemetry off|api|sdk|sdk-floor]`:
 * the framework against the raw driver doing the same durable work, in the
 * same run. The last line printed is one JSON object in the benchmark format.
 */
const benches: Record<string, (args: BenchArgs) => Promise<BenchLine>> = {
  memory: benchMemory,
  sqlite: benchSqlite,
  rabbitmq: benchRabbitmq,
  redis: benchRedis,
  sqs: benchSqs,
  kafka: benchKafka,
  nats: benchNats,
  postgres: benchPostgres,
};

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    messages: { type: 'string' },
    window: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    telemetry: { type: 'string' },
  },
});
const target = positionals[0] ?? 'memory';
const bench = benches[target];
if (!bench) {
  console.error(`unknown benchmark '${target}': choose one of ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
const number = (text: string | undefined) => (text === undefined ? undefined : Number(text));
const args: BenchArgs = {
  runId: `${process.pid}-${Date.now().toString(36)}`,
  ...(values.messages ? { messages: number(values.messages) } : {}),
  ...(values.window ? { window: number(values.window) } : {}),
  ...(values.concurrency ? { concurrency: number(values.concurrency) } : {}),
  ...(values.rounds ? { rounds: number(values.rounds) } : {}),
};
const telemetry = setTelemetryMode(values.telemetry);
const line = await bench(args);
// Spans exported so far (those of the last < 5 s may still wait in the batch processor's queue).
const spans = telemetry === 'sdk' || telemetry === 'sdk-floor' ? { exported_spans: exportedSpans } : {};
console.log(JSON.stringify({ ...line, telemetry, ...spans }));
process.exit(0);
