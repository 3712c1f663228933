import { createService, serveHealth } from '@switchyard/core';
import { brokerReachable, TcpProxy } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('health');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

/** Status of one real HTTP request to the health endpoint. */
const status = async (url: string): Promise<number> => (await fetch(url)).status;

describe.runIf(reachable)('redis: the health endpoint during a broker outage', () => {
  it('answers 503 on /health/ready while the connection to Redis is down, 200 again once it is back', async () => {
    const redis = new URL(REDIS_URL);
    const proxy = await TcpProxy.start({ host: redis.hostname, port: Number(redis.port || 6379) });
    const service = createService({
      name: uniqueName('health'),
      transport: `redis://${proxy.address}?prefix=${prefix}&blockMs=200`,
      handleSignals: false,
    });
    await service.start();
    const server = await serveHealth(service, { port: 0 });
    const ready = `${server.url}/health/ready`;
    try {
      expect(await status(ready)).toBe(200);
      await proxy.refuse();
      await expect.poll(() => status(ready), { timeout: 15_000, interval: 50 }).toBe(503);
      const body = (await (await fetch(ready)).json()) as { services: { transport: { connected: boolean } }[] };
      expect(body.services[0]?.transport.connected).toBe(false);
      expect(await status(`${server.url}/health/live`)).toBe(200);
      await proxy.restore();
      await expect.poll(() => status(ready), { timeout: 15_000, interval: 50 }).toBe(200);
    } finally {
      await service.stop();
      await server.closed;
      await proxy.close();
    }
  });
});
