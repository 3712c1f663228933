import { parseArgs } from 'node:util';
import type { BenchArgs, BenchLine } from './bench-line.js';
import { benchKafka } from './benches/kafka.js';
import { benchMemory } from './benches/memory.js';
import { benchNats } from './benches/nats.js';
import { benchPeers } from './benches/peers.js';
import { benchPostgres } from './benches/postgres.js';
import { benchRabbitmq } from './benches/rabbitmq.js';
import { benchRedis } from './benches/redis.js';
import { benchRequestReply } from './benches/request-reply.js';
import { benchSqlite } from './benches/sqlite.js';
import { benchSqs } from './benches/sqs.js';
import { parseLayouts } from './layout.js';
import { compareTelemetry, parseTelemetryModes } from './telemetry-compare.js';
import { exportedSpans, setTelemetryMode } from './telemetry-mode.js';

/**
 * `npm run bench -- <transport|peers> [--layout single-thread|consumer-worker|both] [--messages N] [--window N]
 * [--concurrency N] [--rounds N] [--loads 0.25,0.5,0.9] [--load-rounds N] [--telemetry off|api|sdk|sdk-floor]
 * [--content-mode binary|structured|both]` (RabbitMQ only):
 * the framework against the raw driver doing the same durable work, in the
 * same run and layout. The last lines printed are JSON objects in the
 * benchmark format, one per layout. `--telemetry off,sdk` (several modes)
 * runs each mode in its own child process, `--rounds` rounds rotating the
 * modes, and prints one comparison line per layout instead (see
 * telemetry-compare.ts).
 */
const benches: Record<string, (args: BenchArgs) => Promise<BenchLine | BenchLine[]>> = {
  memory: benchMemory,
  sqlite: benchSqlite,
  rabbitmq: benchRabbitmq,
  redis: benchRedis,
  sqs: benchSqs,
  kafka: benchKafka,
  nats: benchNats,
  postgres: benchPostgres,
  peers: benchPeers,
  'request-reply': benchRequestReply,
};

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    messages: { type: 'string' },
    window: { type: 'string' },
    concurrency: { type: 'string' },
    rounds: { type: 'string' },
    telemetry: { type: 'string' },
    layout: { type: 'string' },
    loads: { type: 'string' },
    'load-rounds': { type: 'string' },
    'content-mode': { type: 'string' },
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
  layouts: parseLayouts(values.layout),
  ...(values.loads ? { loads: values.loads.split(',').map(Number) } : {}),
  ...(values.messages ? { messages: number(values.messages) } : {}),
  ...(values.window ? { window: number(values.window) } : {}),
  ...(values.concurrency ? { concurrency: number(values.concurrency) } : {}),
  ...(values.rounds ? { rounds: number(values.rounds) } : {}),
  ...(values['load-rounds'] ? { loadRounds: number(values['load-rounds']) } : {}),
  ...(values['content-mode'] ? { contentModes: contentModes(values['content-mode']) } : {}),
};
function contentModes(text: string): Array<'binary' | 'structured'> {
  if (text === 'both') return ['binary', 'structured'];
  if (text === 'binary' || text === 'structured') return [text];
  console.error(`--content-mode must be binary, structured or both, got '${text}'`);
  process.exit(2);
}
if (values.telemetry?.includes(',')) {
  // Several modes: one child process per mode and round, compared in one line per layout (telemetry-compare.ts).
  const modes = parseTelemetryModes(values.telemetry);
  const childArgs = [target];
  for (const [name, value] of Object.entries(values))
    if (name !== 'telemetry' && name !== 'rounds' && typeof value === 'string') childArgs.push(`--${name}`, value);
  const lines = await compareTelemetry(modes, args.rounds ?? 3, childArgs);
  for (const line of lines) console.log(JSON.stringify(line));
  process.exit(0);
}
const telemetry = setTelemetryMode(values.telemetry);
const result = await bench(args);
// Spans exported so far (those of the last < 5 s may still wait in the batch processor's queue).
const spans = telemetry === 'sdk' || telemetry === 'sdk-floor' ? { exported_spans: exportedSpans } : {};
for (const line of Array.isArray(result) ? result : [result])
  console.log(JSON.stringify({ ...line, telemetry, ...spans }));
process.exit(0);
