/**
 * Rough throughput check of the transport against the raw ioredis baseline on
 * the same Redis, same message shape, same batch size (not a test; run by hand):
 *
 *   npx tsx --conditions source packages/redis/bench/throughput.ts [messages] [batch] [concurrency]
 */
import { randomBytes } from 'node:crypto';
import type { TransportMessage } from '@switchyard/core/transport';
import { Redis } from 'ioredis';
import { rawRedisBaseline } from '../../../bench/src/raw/redis.js';
import { RedisStreamsTransport } from '../src/index.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const messages = Number(process.argv[2] ?? 100_000);
const batch = Number(process.argv[3] ?? 500);
const concurrency = Number(process.argv[4] ?? batch);
const encoder = new TextEncoder();

function build(i: number): TransportMessage {
  const id = `tr-${i}`;
  return {
    id,
    headers: {
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-type': 'bench.message',
      'ce-source': 'bench',
      'ce-time': '2026-01-01T00:00:00.000Z',
      'content-type': 'application/json',
      'ce-kind': 'message',
      'ce-correlationid': id,
      'ce-attempt': '1',
    },
    body: encoder.encode(`{"seq":${i},"data":"payload"}`),
  };
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

const raw = (await rawRedisBaseline({ url, messages, batch })).msgsPerSec;
const idempotent = await transportRun(120_000);
const plain = await transportRun(0);
const raw2 = (await rawRedisBaseline({ url, messages, batch })).msgsPerSec;
console.log(
  JSON.stringify({
    messages,
    batch,
    concurrency,
    raw,
    raw2,
    idempotent,
    plain,
    ratio: +(idempotent / ((raw + raw2) / 2)).toFixed(2),
  }),
);
