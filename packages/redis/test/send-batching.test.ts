import { type Delivery, ErrorCode } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, message, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('batching');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

async function markers(): Promise<number> {
  return (await admin.keys(`${prefix}:sent:*`)).length;
}

describe.runIf(reachable)('redis send batching', () => {
  it('merges concurrent single-message sends into one script call with one marker, in order', async () => {
    const t = new RedisStreamsTransport({ url: REDIS_URL, prefix });
    try {
      const channel = uniqueName('burst');
      const before = await markers();
      const ids = Array.from({ length: 200 }, (_, i) => `m-${i}`);
      await Promise.all(ids.map((id) => t.send(channel, [message(id)])));
      expect((await markers()) - before).toBe(1);
      const entries = await admin.xrange(`${prefix}:ch:${channel}`, '-', '+');
      expect(entries.map(([, fields]) => fields[fields.indexOf('i') + 1])).toEqual(ids);
    } finally {
      await t.close();
    }
  });

  it('merges concurrent single-event publishes into one script call with one marker', async () => {
    const t = new RedisStreamsTransport({ url: REDIS_URL, prefix });
    try {
      const channel = uniqueName('fanout');
      await t.provision({ channels: [{ name: channel, subscriptions: ['order.*'] }] });
      const before = await markers();
      const ids = Array.from({ length: 100 }, (_, i) => `e-${i}`);
      await Promise.all(ids.map((id) => t.publish([{ ...message(id), routingKey: 'order.placed' }])));
      expect((await markers()) - before).toBe(1);
      const entries = await admin.xrange(`${prefix}:ch:${channel}`, '-', '+');
      expect(entries.map(([, fields]) => fields[fields.indexOf('i') + 1])).toEqual(ids);
    } finally {
      await t.close();
    }
  });

  it('a message over the size limit fails only its own send, not the batch it would have joined', async () => {
    const t = new RedisStreamsTransport({ url: REDIS_URL, prefix, maxMessageBytes: 1_000 });
    try {
      const channel = uniqueName('limit');
      const big = message('big', { pad: 'x'.repeat(2_000) });
      const results = await Promise.allSettled([
        t.send(channel, [message('a')]),
        t.send(channel, [big]),
        t.send(channel, [message('b')]),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.TooLarge });
      expect(await admin.xlen(`${prefix}:ch:${channel}`)).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('close waits for sends already accepted, so they are stored and delivered', async () => {
    const t = new RedisStreamsTransport({ url: REDIS_URL, prefix });
    const receiver = new RedisStreamsTransport({ url: REDIS_URL, prefix });
    try {
      const channel = uniqueName('close');
      await receiver.provision({ channels: [{ name: channel, subscriptions: [] }] });
      const sends = Array.from({ length: 50 }, (_, i) => t.send(channel, [message(`c-${i}`)]));
      // Closing in the same turn: the batch has not been flushed yet.
      const closed = t.close();
      await Promise.all(sends);
      await closed;
      const got: string[] = [];
      await receiver.consume(
        channel,
        async (d: Delivery) => {
          got.push(d.message.id);
          await d.ack();
        },
        { concurrency: 8 },
      );
      await waitFor(() => got.length === 50, 'all 50 sends delivered');
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});
