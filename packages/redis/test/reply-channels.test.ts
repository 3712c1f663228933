import { runReplyChannelSuite } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix('replies');
const admin = adminConnection();
afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => undefined);
  admin.disconnect();
});

runReplyChannelSuite({
  name: `Redis at ${new URL(REDIS_URL).host}`,
  probe: probeRedis,
  createTransport: () => new RedisStreamsTransport({ url: REDIS_URL, prefix }),
  // EXISTS does not touch a key's expiry, so asking does not keep the stream alive.
  exists: async (address) => (await admin.exists(address)) === 1,
  expiry: { expireAfterMs: 300, waitMs: 5_000 },
});
