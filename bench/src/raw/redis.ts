import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { OnHandled, RunningConsumer } from '../consumer-spec.js';
import { benchHeaders, benchPayload, readRawMessage } from '../contract.js';
import { type BenchProducer, runLoop } from '../run-loop.js';

/** Options of both halves of the raw Redis Streams baseline. */
export interface RawRedisOptions {
  readonly url: string;
  /** A fresh stream per run; the consumer creates it with its group and deletes it when stopped. */
  readonly key: string;
  /** Entries per XREADGROUP at most (the transport's prefetch). */
  readonly batch: number;
}

const GROUP = 'bench';

/**
 * The raw baseline's consumer: plain ioredis on its own connection, one
 * consumer-group member reading `batch` entries per XREADGROUP (BLOCK), each
 * read as any consumer reads it (headers JSON and body JSON parsed) and handled, then one
 * pipeline of XACK + XDEL per read batch (the transport deletes on ack too).
 */
export async function startRawRedisConsumer(options: RawRedisOptions, onHandled: OnHandled): Promise<RunningConsumer> {
  const conn = new Redis(options.url);
  await conn.xgroup('CREATE', options.key, GROUP, '0', 'MKSTREAM');
  let running = true;
  const loop = (async () => {
    while (running) {
      const reply = (await conn.xreadgroup(
        'GROUP',
        GROUP,
        'c1',
        'COUNT',
        options.batch,
        'BLOCK',
        100,
        'STREAMS',
        options.key,
        '>',
      )) as Array<[string, Array<[string, string[]]>]> | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) continue;
      const ids: string[] = [];
      for (const [id, fields] of entries) {
        onHandled((readRawMessage(fields[3] as string, fields[5] as string) as { sentAt: number }).sentAt);
        ids.push(id);
      }
      await conn
        .pipeline()
        .xack(options.key, GROUP, ...ids)
        .xdel(options.key, ...ids)
        .exec();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop.catch(() => undefined);
      await conn.del(options.key).catch(() => undefined);
      conn.disconnect();
    },
  };
}

/**
 * The raw baseline's producer: plain ioredis on its own connection; each
 * `send` is one XADD of the transport's fields (a UUID id, the framework's
 * headers as JSON, the JSON body), resolved at Redis' reply. Concurrent
 * sends share the connection's pipeline as the transport's do.
 */
export async function rawRedisProducer(options: RawRedisOptions): Promise<BenchProducer> {
  const conn = new Redis(options.url);
  return {
    async send(seq) {
      const id = randomUUID();
      await conn.xadd(
        options.key,
        '*',
        'i',
        id,
        'h',
        JSON.stringify(benchHeaders(id)),
        'b',
        JSON.stringify(benchPayload(seq)),
      );
    },
    async stop() {
      conn.disconnect();
    },
  };
}

/**
 * The raw baseline on its own, single-thread, on a fresh stream (for
 * packages/redis/bench/throughput.ts): `messages` sends, at most 4,000 ahead
 * of the consumer; returns the end-to-end throughput.
 */
export async function rawRedisBaseline(opts: {
  url: string;
  messages: number;
  batch: number;
}): Promise<{ msgsPerSec: number }> {
  const options = { url: opts.url, key: `sy-bench:raw:${randomUUID()}`, batch: opts.batch };
  const result = await runLoop({
    layout: 'single-thread',
    consumer: { kind: 'raw-redis', options },
    producer: () => rawRedisProducer(options),
    messages: opts.messages,
    window: 4_000,
  });
  return { msgsPerSec: result.msgsPerSec };
}
