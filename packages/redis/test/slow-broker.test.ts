import { ErrorCode } from '@switchyard/core/transport';
import { brokerReachable, TcpProxy, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, message, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('slow');
const STALL_MS = 10_000;

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

describe.runIf(reachable)('redis that stops answering (stalled network or paused server)', () => {
  it('a send rejects with SY_TIMEOUT after sendTimeoutMs instead of hanging; nothing is lost once it resumes', async () => {
    const { hostname, port } = new URL(REDIS_URL);
    const proxy = await TcpProxy.start({ host: hostname, port: Number(port || 6379) });
    const slow = new RedisStreamsTransport({ url: `redis://${proxy.address}`, prefix, sendTimeoutMs: 1_500 });
    const direct = new RedisStreamsTransport({ url: REDIS_URL, prefix, blockMs: 200 });
    const channel = uniqueName('slow');
    const received = new Set<string>();
    try {
      await direct.provision({ channels: [{ name: channel, subscriptions: [] }] });
      await direct.consume(channel, async (delivery) => {
        received.add(delivery.message.id);
        await delivery.ack();
      });
      await slow.send(channel, [message('before')]);
      await waitFor(() => received.has('before'), 'the message sent before the stall', 10_000);

      proxy.stall(STALL_MS);
      const started = Date.now();
      const error = await slow.send(channel, [message('during')]).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      const took = Date.now() - started;
      expect(error).toMatchObject({ code: ErrorCode.Timeout });
      expect(took).toBeGreaterThanOrEqual(1_400);
      expect(took).toBeLessThan(5_000);

      // The caller sends again (at-least-once); once Redis answers, nothing sent is missing.
      await waitFor(() => Date.now() - started > STALL_MS, 'the stall to end', STALL_MS + 2_000, 100);
      await slow.send(channel, [message('during'), message('after')]);
      await waitFor(() => received.has('during') && received.has('after'), 'every message after the stall', 15_000);
    } finally {
      await slow.close();
      await direct.close();
      await proxy.close();
    }
  }, 40_000);
});
