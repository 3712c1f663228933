import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniquePrefix } from './helpers.js';

// One prefix per run stands for "the broker"; every transport made here is one process connected to it.
const prefix = uniquePrefix('conformance');
const admin = adminConnection();

runTransportConformance({
  name: 'redis',
  probe: probeRedis,
  // A short lease, so scenarios where a consumer goes away see its deliveries reclaimed quickly.
  createTransport: () => new RedisStreamsTransport({ url: REDIS_URL, prefix, leaseMs: 1_000, blockMs: 500 }),
  async dropConnections() {
    // Kills every normal client on this Redis (other suites' too: they must survive it), except the admin itself.
    await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
  },
  // EXISTS does not touch the stream's expiry.
  replyChannelExists: async (key) => (await admin.exists(key)) === 1,
});

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});
