import type { ConformanceOptions } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { KafkaTransport } from '../src/index.js';
import { FAST_GROUPS, tryStartMockCluster, unique } from './cluster.js';

/**
 * Conformance options on a mock cluster of this test file. The cluster starts
 * before registration because the suite reads capabilities from a transport
 * made at once.
 */
export async function kafkaConformance(): Promise<Omit<ConformanceOptions, 'skip' | 'only'>> {
  const { cluster, failure } = await tryStartMockCluster();
  afterAll(() => cluster?.stop());
  const prefix = `${unique('conf')}.`;
  const brokers = cluster?.brokers ?? ['127.0.0.1:9'];
  const make = () => new KafkaTransport({ brokers, topicPrefix: prefix, ...FAST_GROUPS });
  return {
    name: 'kafka (librdkafka mock cluster)',
    createTransport: make,
    probe: async () => {
      if (!cluster) throw failure;
      const transport = make();
      try {
        await transport.ping();
      } finally {
        await transport.close();
      }
    },
    dropConnections: () => (cluster ? cluster.dropConnections() : Promise.resolve()),
  };
}
