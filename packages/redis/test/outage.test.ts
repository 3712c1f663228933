import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { uniquePrefix } from './helpers.js';
import { OwnRedis } from './own-server.js';

/**
 * The conformance suite's broker-outage scenario for Redis: a redis-server of
 * this test's own (free port, AOF on) is killed with SIGKILL and started again
 * on the same data, twice; the shared Redis on 6379 is never touched.
 */
let server: Promise<OwnRedis> | undefined;
const own = () => {
  server ??= OwnRedis.start();
  return server;
};
const prefix = uniquePrefix('outage');

runTransportConformance({
  name: 'redis (own redis-server, AOF, killed and restarted)',
  only: ['broker-outage'],
  // Starting it is the probe: no redis-server binary means skip (or fail under SWITCHYARD_REQUIRE_BROKERS=1).
  probe: async () => void (await own()),
  capabilities: new RedisStreamsTransport().capabilities,
  createTransport: async () =>
    new RedisStreamsTransport({ url: (await own()).url, prefix, leaseMs: 2_000, blockMs: 500 }),
  outage: {
    describe: 'own redis-server with appendonly yes: SIGKILL, then restart on the same AOF',
    cut: async () => (await own()).kill(),
    restore: async () => (await own()).restart(),
  },
});

afterAll(async () => {
  await (await server?.catch(() => undefined))?.close();
});
