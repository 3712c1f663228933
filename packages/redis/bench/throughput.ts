/**
 * Rough throughput check of the transport against the raw ioredis baseline on
 * the same Redis, same message shape, same batch size (not a test; run by hand):
 *
 *   npx tsx --conditions source packages/redis/bench/throughput.ts [messages] [batch] [concurrency] [rounds]
 *
 * WITH_PLAIN=1 also runs the transport with the idempotent-send marker turned off.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TransportMessage } from '@switchyard/core/transport';
import { Redis } from 'ioredis';
import { benchHeaders, benchPayload } from '../../../bench/src/contract.js';
import { rawRedisBaseline } from '../../../bench/src/raw/redis.js';
import { RedisStreamsTransport } from '../src/index.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const messages = Number(process.argv[2] ?? 100_000);
const batch = Number(process.argv[3] ?? 500);
const concurrency = Number(process.argv[4] ?? batch);
const rounds = Number(process.argv[5] ?? 5);
const withPlain = process.env.WITH_PLAIN === '1';
const encoder = new TextEncoder();

/** The raw baseline's message, so both sides move the same bytes. */
function build(i: number): TransportMessage {
  const id = randomUUID();
  return { id, headers: benchHeaders(id), body: encoder.encode(JSON.stringify(benchPayload(i))) };
}

async function transportRun(sendDedupTtlMs: number): Promise<number> {
  const prefix = `sy-bench:tr:${randomBytes(5).toString('hex')}`;
  const sender = new RedisStreamsTransport({ url, prefix, sendDedupTtlMs });
  const receiver = new RedisStreamsTransport({ url, prefix });
  const channel = 'bench';
  let received = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  await receiver.consume(
    channel,
    async (d) => {
      await d.ack();
      if (++received === messages) done();
    },
    { concurrency, prefetch: batch },
  );
  const start = performance.now();
  for (let sent = 0; sent < messages; sent += batch) {
    const chunk: TransportMessage[] = [];
    for (let i = sent; i < Math.min(sent + batch, messages); i++) chunk.push(build(i));
    await sender.send(channel, chunk);
  }
  await finished;
  const rate = Math.round(messages / ((performance.now() - start) / 1000));
  await Promise.all([sender.close(), receiver.close()]);
  const admin = new Redis(url);
  const keys = await admin.keys(`${prefix}:*`);
  if (keys.length > 0) await admin.del(...keys);
  admin.disconnect();
  return rate;
}

// The machine is shared and noisy: alternate raw and transport runs, report the best and the median of each.
const raws: number[] = [];
const transports: number[] = [];
const plains: number[] = [];
for (let round = 0; round < rounds; round++) {
  const runRaw = async () => raws.push((await rawRedisBaseline({ url, messages, batch })).msgsPerSec);
  const runTransport = async () => transports.push(await transportRun(120_000));
  if (round % 2 === 0) {
    await runRaw();
    await runTransport();
  } else {
    await runTransport();
    await runRaw();
  }
  if (withPlain) plains.push(await transportRun(0));
}
const best = (xs: number[]) => Math.max(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    messages,
    batch,
    concurrency,
    raw: { best: best(raws), median: median(raws), runs: raws },
    transport: { best: best(transports), median: median(transports), runs: transports },
    ...(withPlain ? { transportWithoutSendMarker: { best: best(plains), median: median(plains) } } : {}),
    ratioBest: +(best(transports) / best(raws)).toFixed(2),
    ratioMedian: +(median(transports) / median(raws)).toFixed(2),
  }),
);
