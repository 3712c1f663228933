import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { canStartServer, NATS_SERVER_BIN, OwnServer } from './own-server.js';

/**
 * The conformance suite's broker-outage scenario for NATS: a nats-server of
 * this test's own (free port, JetStream file store in a temporary directory)
 * is killed with SIGKILL and started again on the same store, twice; the
 * shared server on 4222 is never touched.
 */
let server: Promise<OwnServer> | undefined;
const own = () => {
  server ??= OwnServer.create();
  return server;
};

runTransportConformance({
  name: 'nats (own nats-server, killed and restarted)',
  only: ['broker-outage'],
  // Starting it is the probe: no nats-server binary means skip (or fail under SWITCHYARD_REQUIRE_BROKERS=1).
  probe: async () => {
    if (!canStartServer) throw new Error(`no nats-server binary at ${NATS_SERVER_BIN}`);
    await own();
  },
  capabilities: new NatsTransport().capabilities,
  createTransport: async () =>
    new NatsTransport({ url: (await own()).url, prefix: 'outage', ackWaitMs: 2_000, pullExpiresMs: 2_000 }),
  outage: {
    describe: 'own nats-server -js: SIGKILL, then restart on the same store',
    cut: async () => (await own()).kill(),
    restore: async () => (await own()).start(),
  },
});

afterAll(async () => {
  await (await server?.catch(() => undefined))?.dispose();
});
