import { brokerReachable, channelStatsScenario } from '@switchyard/testing';
import { afterAll, describe, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('stats');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

describe.runIf(reachable)('redis channel stats', () => {
  it('reports depth, in-flight and consumers of a channel as Redis counts them', async () => {
    const transport = new RedisStreamsTransport({ url: REDIS_URL, prefix });
    try {
      await channelStatsScenario(transport, uniqueName('stats'));
    } finally {
      await transport.close();
    }
  });
});
