import { ErrorCode } from '@switchyard/core/transport';
import { brokerReachable, TcpProxy } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, message, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('idempotent');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

/**
 * Runs one send whose reply is lost after Redis executed it; ioredis then
 * reconnects and re-sends the same command. Returns how many entries the
 * stream holds afterwards (3 messages were sent).
 */
async function sendWithLostReply(sendDedupTtlMs: number): Promise<{ entries: number; dropped: number }> {
  const { hostname, port } = new URL(REDIS_URL);
  const proxy = await TcpProxy.start({ host: hostname, port: Number(port || 6379) });
  const t = new RedisStreamsTransport({ url: `redis://${proxy.address}`, prefix, sendDedupTtlMs });
  try {
    const channel = uniqueName('dup');
    // Warm up: connect and get the script into the server's cache, so the lost reply is the script's own.
    await t.send(uniqueName('warm'), [message('warm')]);
    proxy.loseNextReply();
    await t.send(channel, [message('a'), message('b'), message('c')]);
    return { entries: await admin.xlen(`${prefix}:ch:${channel}`), dropped: proxy.repliesLost };
  } finally {
    await t.close();
    await proxy.close();
  }
}

describe.runIf(reachable)('redis idempotent send', () => {
  it('a send re-sent by ioredis after a lost reply is appended once', async () => {
    const { entries, dropped } = await sendWithLostReply(120_000);
    expect(dropped).toBe(1);
    expect(entries).toBe(3);
  });

  it('control: with the send marker turned off the same re-send duplicates (so the test above forces one)', async () => {
    const { entries, dropped } = await sendWithLostReply(0);
    expect(dropped).toBe(1);
    // 6: stored once, re-sent once. (More only if another suite's CLIENT KILL cut the same call again.)
    expect(entries).toBeGreaterThanOrEqual(6);
  });

  it('a send while Redis cannot be reached rejects with SY_SEND_FAILED and stores nothing', async () => {
    const { hostname, port } = new URL(REDIS_URL);
    const proxy = await TcpProxy.start({ host: hostname, port: Number(port || 6379) });
    // Give up after one reconnect attempt instead of ioredis' default 20, to keep the test short.
    const t = new RedisStreamsTransport({
      url: `redis://${proxy.address}`,
      prefix,
      redis: { maxRetriesPerRequest: 1 },
    });
    const channel = uniqueName('outage');
    try {
      await t.send(channel, [message('before')]);
      await proxy.close();
      await expect(t.send(channel, [message('during')])).rejects.toMatchObject({ code: ErrorCode.SendFailed });
      expect(await admin.xlen(`${prefix}:ch:${channel}`)).toBe(1);
    } finally {
      await t.close();
    }
  });
});
