import { runTransportConformance, TcpProxy } from '@switchyard/testing';
import { afterAll, beforeAll } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { deleteStreams, NATS_ADDRESS, probeNats, uniquePrefix } from './helpers.js';

// One prefix (one stream) per run stands for "the broker"; every transport made here is one process
// connected to it, through a proxy this file controls, so dropping connections never touches the
// shared server or other suites' clients.
const prefix = uniquePrefix('conf');
let proxy: TcpProxy | undefined;

beforeAll(async () => {
  proxy = await TcpProxy.start(NATS_ADDRESS);
});

runTransportConformance({
  name: 'nats',
  probe: probeNats,
  // A short ack wait, so scenarios where a consumer goes away see its deliveries come back quickly.
  createTransport: () =>
    new NatsTransport({
      url: proxy ? `nats://${proxy.address}` : 'nats://127.0.0.1:1',
      prefix,
      ackWaitMs: 2_000,
      pullExpiresMs: 2_000,
    }),
  async dropConnections() {
    proxy?.cut();
  },
});

afterAll(async () => {
  await proxy?.close();
  await deleteStreams(prefix).catch(() => {});
});
