import { randomBytes } from 'node:crypto';
import { brokerReachable, TcpProxy, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, message, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('reconnect');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

const TOTAL = 10_000;
const BATCH = 100;

describe.runIf(reachable)('redis reconnect', () => {
  it('client connections killed twice during 10,000 messages: every message arrives, each handled once', async () => {
    const channel = uniqueName('rc');
    const sender = new RedisStreamsTransport({ url: REDIS_URL, prefix, leaseMs: 2_000, blockMs: 500 });
    const receiver = new RedisStreamsTransport({ url: REDIS_URL, prefix, leaseMs: 2_000, blockMs: 500 });
    const seen = new Map<string, number>();
    let duplicates = 0;
    let acked = 0;
    const kills: number[] = [];
    let rejectedSends = 0;
    try {
      await receiver.consume(
        channel,
        async (d) => {
          const n = seen.get(d.message.id) ?? 0;
          if (n > 0) duplicates++;
          seen.set(d.message.id, n + 1);
          await d.ack();
          acked++;
        },
        { concurrency: 32, prefetch: 200 },
      );
      const kill = async () => {
        // Every normal client on this Redis: ours (sender, consumer, blocking reader) and other suites'.
        kills.push(Number(await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')));
      };
      const killing: Promise<void>[] = [];
      for (let b = 0; b < TOTAL / BATCH; b++) {
        // Fire the kill without waiting, so it lands while this batch and the consumer's reads/acks are in flight.
        if (b === 25 || b === 65) killing.push(kill());
        const batch = Array.from({ length: BATCH }, (_, i) => message(`m-${b * BATCH + i}`));
        for (;;) {
          try {
            await sender.send(channel, batch);
            break;
          } catch {
            // The contract allows a rejected send during an outage (never a silent drop); resend as core would.
            rejectedSends++;
          }
        }
      }
      await Promise.all(killing);
      await waitFor(() => seen.size === TOTAL, `${TOTAL} distinct messages (have ${seen.size})`, 30_000);
      await waitFor(() => acked === TOTAL + duplicates, 'every ack to be confirmed');
      console.log(
        `[redis reconnect] distinct=${seen.size} duplicates=${duplicates} killed-clients=${kills.join('+')} rejected-sends=${rejectedSends}`,
      );
      expect(kills).toHaveLength(2);
      for (const killed of kills) expect(killed).toBeGreaterThanOrEqual(3);
      expect(seen.size).toBe(TOTAL);
      // Idempotent sends and acks/re-reads that survive a reconnect: no message is handled twice.
      // A rejected send that had in fact been stored would be the one legitimate source of duplicates.
      expect(duplicates).toBeLessThanOrEqual(rejectedSends * BATCH);
      if (rejectedSends === 0) expect(duplicates).toBe(0);
      expect(await admin.xlen(`${prefix}:ch:${channel}`)).toBe(0);
    } finally {
      await Promise.all([sender.close(), receiver.close()]);
    }
  });

  it('a read whose reply was lost is recovered from the consumer pending list right after reconnecting', async () => {
    const { hostname, port } = new URL(REDIS_URL);
    const proxy = await TcpProxy.start({ host: hostname, port: Number(port || 6379) });
    const channel = uniqueName('lr');
    // Matched against raw reply bytes: must not occur in the channel (stream key) name.
    const id = `lost-${randomBytes(6).toString('hex')}`;
    // A long lease: only the re-read of its own pending list after the reconnect can bring the entry back in time.
    const receiver = new RedisStreamsTransport({
      url: `redis://${proxy.address}`,
      prefix,
      leaseMs: 60_000,
      blockMs: 300,
    });
    const sender = new RedisStreamsTransport({ url: REDIS_URL, prefix });
    const got: Array<{ id: string; count: number }> = [];
    try {
      await receiver.consume(channel, async (d) => {
        got.push({ id: d.message.id, count: d.deliveryCount });
        await d.ack();
      });
      proxy.loseNextReply(id);
      await sender.send(channel, [message(id)]);
      await waitFor(() => got.length === 1, 'the entry whose read reply was lost', 10_000);
      expect(proxy.repliesLost).toBe(1);
      // Delivered once to the handler, from the pending list: the group counted the lost read too (2; more
      // only if another suite's CLIENT KILL forced a further re-read meanwhile).
      expect(got).toHaveLength(1);
      expect(got[0]!.id).toBe(id);
      expect(got[0]!.count).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all([sender.close(), receiver.close()]);
      await proxy.close();
    }
  });
});
