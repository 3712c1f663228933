import { runTransportConformance } from '@switchyard/testing';
import { KafkaTransport } from '../src/index.js';
import { FAST_GROUPS, type MockCluster, startMockCluster, unique } from './cluster.js';

// The mock cluster starts before registration: the suite reads capabilities from a transport made at once.
let cluster: MockCluster | undefined;
let failure: unknown;
try {
  cluster = await startMockCluster();
} catch (error) {
  failure = error;
}
const prefix = `${unique('conf')}.`;
const brokers = cluster?.brokers ?? ['127.0.0.1:9'];

runTransportConformance({
  name: 'kafka (librdkafka mock cluster)',
  createTransport: () => new KafkaTransport({ brokers, topicPrefix: prefix, ...FAST_GROUPS }),
  probe: async () => {
    if (!cluster) throw failure;
    const transport = new KafkaTransport({ brokers, topicPrefix: prefix, ...FAST_GROUPS });
    try {
      await transport.ping();
    } finally {
      await transport.close();
    }
  },
  dropConnections: () => (cluster ? cluster.dropConnections() : Promise.resolve()),
});

if (cluster) {
  const { afterAll } = await import('vitest');
  afterAll(() => cluster?.stop());
}
