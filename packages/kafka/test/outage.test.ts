import { connect } from 'node:net';
import { runTransportConformance, TcpProxy } from '@switchyard/testing';
import type { ISocketFactory } from 'kafkajs';
import { afterAll } from 'vitest';
import { KafkaTransport } from '../src/index.js';
import { FAST_GROUPS, tryStartMockCluster, unique } from './cluster.js';

/**
 * The conformance suite's broker-outage scenario for Kafka. The librdkafka
 * mock cluster keeps its topics in memory, so it is never restarted: each of
 * its brokers gets a TcpProxy of this test, and an outage is every proxy
 * cutting its connections and refusing new ones, twice. The mock advertises
 * its brokers' own ports in metadata, and kafkajs connects to what metadata
 * says, so the transports' `socketFactory` maps every broker port to its proxy.
 */
const { cluster, failure } = await tryStartMockCluster();
const proxies = new Map<number, TcpProxy>();
for (const broker of cluster?.brokers ?? []) {
  const port = Number(broker.slice(broker.lastIndexOf(':') + 1));
  proxies.set(port, await TcpProxy.start({ host: '127.0.0.1', port }));
}
afterAll(async () => {
  await Promise.all([...proxies.values()].map((proxy) => proxy.close()));
  await cluster?.stop();
});

const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
  const proxy = proxies.get(port);
  const socket = connect({ host: proxy ? '127.0.0.1' : host, port: proxy?.port ?? port }, onConnect);
  socket.setKeepAlive(true, 1_000);
  return socket;
};
const prefix = `${unique('outage')}.`;
const make = () =>
  new KafkaTransport({
    brokers: cluster?.brokers ?? ['127.0.0.1:9'],
    topicPrefix: prefix,
    socketFactory,
    ...FAST_GROUPS,
  });

runTransportConformance({
  name: 'kafka through proxies (librdkafka mock cluster)',
  only: ['broker-outage'],
  probe: async () => {
    if (!cluster) throw failure;
    const transport = make();
    try {
      await transport.ping();
    } finally {
      await transport.close();
    }
  },
  createTransport: make,
  outage: {
    describe: 'a TcpProxy per mock broker: cut + refuse',
    cut: async () => {
      // An outage nobody sees would prove nothing: the transports must be connected through the proxies.
      if ([...proxies.values()].every((proxy) => proxy.open === 0))
        throw new Error('no connection goes through the proxies');
      await Promise.all([...proxies.values()].map((proxy) => proxy.refuse()));
    },
    restore: async () => void (await Promise.all([...proxies.values()].map((proxy) => proxy.restore()))),
  },
});
