import { runTransportConformance } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { KafkaTransport } from '../src/index.js';
import { FAST_GROUPS, tryStartMockCluster, unique } from './cluster.js';
import { proxyCluster } from './proxied-cluster.js';

/**
 * The conformance suite's broker-outage scenario for Kafka. The librdkafka
 * mock cluster keeps its topics in memory, so it is never restarted: each of
 * its brokers gets a TcpProxy of this test, and an outage is every proxy
 * cutting its connections and refusing new ones, twice. The mock advertises
 * its brokers' own ports in metadata, and kafkajs connects to what metadata
 * says, so the transports' `socketFactory` maps every broker port to its proxy.
 */
const { cluster, failure } = await tryStartMockCluster();
const near = await proxyCluster(cluster);
afterAll(async () => {
  await near.close();
  await cluster?.stop();
});

const prefix = `${unique('outage')}.`;
const make = () =>
  new KafkaTransport({
    brokers: cluster?.brokers ?? ['127.0.0.1:9'],
    topicPrefix: prefix,
    socketFactory: near.socketFactory,
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
      if (near.open() === 0) throw new Error('no connection goes through the proxies');
      await near.refuse();
    },
    restore: () => near.restore(),
  },
});
