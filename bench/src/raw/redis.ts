import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { benchHeaders, benchPayload, readRawMessage } from '../contract.js';

/**
 * The raw-driver baseline for the Redis Streams transport: the same work with
 * plain ioredis and nothing else. One producer appends `messages` messages
 * (XADD, pipelined `batch` at a time, each pipeline awaited); one consumer in a
 * consumer group reads them (XREADGROUP COUNT `batch` BLOCK) and acknowledges
 * each read batch with XACK + XDEL in one pipeline — the transport also deletes
 * on ack — after reading every message (headers and payload JSON parsed). Messages carry fields shaped like the transport's (a UUID id, a
 * CloudEvents header JSON, the benchmark's JSON body). Returns end-to-end throughput: messages
 * divided by the time from the first XADD to the last acknowledgement.
 *
 * Uses its own random stream key and deletes it afterwards; the Redis at `url`
 * may be shared.
 */
export async function rawRedisBaseline(opts: {
  url: string;
  messages: number;
  batch: number;
}): Promise<{ msgsPerSec: number }> {
  const { url, messages, batch } = opts;
  const key = `sy-bench:raw:${randomBytes(6).toString('hex')}`;
  const group = 'bench';
  const producer = new Redis(url);
  const consumer = new Redis(url);
  try {
    await producer.xgroup('CREATE', key, group, '0', 'MKSTREAM');
    const start = performance.now();
    const consumed = consume(consumer, key, group, messages, batch);
    for (let sent = 0; sent < messages; sent += batch) {
      const pipeline = producer.pipeline();
      for (let i = sent; i < Math.min(sent + batch, messages); i++) {
        const id = randomUUID();
        pipeline.xadd(key, '*', 'i', id, 'h', JSON.stringify(benchHeaders(id)), 'b', JSON.stringify(benchPayload(i)));
      }
      await pipeline.exec();
    }
    await consumed;
    const seconds = (performance.now() - start) / 1000;
    return { msgsPerSec: Math.round(messages / seconds) };
  } finally {
    await producer.del(key).catch(() => {});
    producer.disconnect();
    consumer.disconnect();
  }
}

async function consume(conn: Redis, key: string, group: string, messages: number, batch: number): Promise<void> {
  let received = 0;
  while (received < messages) {
    const reply = (await conn.xreadgroup(
      'GROUP',
      group,
      'c1',
      'COUNT',
      batch,
      'BLOCK',
      1000,
      'STREAMS',
      key,
      '>',
    )) as Array<[string, Array<[string, string[]]>]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    if (entries.length === 0) continue;
    const ids = entries.map(([id, fields]) => {
      readRawMessage(fields[3] as string, fields[5] as string);
      return id;
    });
    await conn
      .pipeline()
      .xack(key, group, ...ids)
      .xdel(key, ...ids)
      .exec();
    received += ids.length;
  }
}
