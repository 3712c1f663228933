import { brokerReachable } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { KafkaTransport, type KafkaTransportOptions } from '../src/index.js';
import { FAST_GROUPS, type MockCluster, tryStartMockCluster, unique } from './cluster.js';

/**
 * Per-file test fixture: starts a mock cluster (or explains why it cannot,
 * which skips the file unless SWITCHYARD_REQUIRE_BROKERS=1) and makes
 * transports on it that are closed after the file.
 */
export async function kafkaFixture(): Promise<{
  reachable: boolean;
  transport(options?: Partial<KafkaTransportOptions>): KafkaTransport;
  cluster(): MockCluster;
}> {
  const { cluster, failure } = await tryStartMockCluster();
  const reachable = await brokerReachable(
    'librdkafka mock Kafka cluster (apt-get install librdkafka-dev)',
    async () => {
      if (!cluster) throw failure;
    },
  );
  const made: KafkaTransport[] = [];
  const prefix = `${unique('t')}.`;
  afterAll(async () => {
    await Promise.all(made.map((t) => t.close()));
    await cluster?.stop();
  });
  return {
    reachable,
    transport: (options) => {
      if (!cluster) throw new Error('no mock cluster');
      const t = new KafkaTransport({ brokers: cluster.brokers, topicPrefix: prefix, ...FAST_GROUPS, ...options });
      made.push(t);
      return t;
    },
    cluster: () => {
      if (!cluster) throw new Error('no mock cluster');
      return cluster;
    },
  };
}

/** A message with a `ce-id` header, as core's codec makes them. */
export function message(id: string, body: string, extra: { key?: string; deliverAt?: number } = {}) {
  return {
    id,
    headers: { 'ce-id': id, 'ce-type': 'test.message', 'content-type': 'application/json' },
    body: new TextEncoder().encode(JSON.stringify(body)),
    ...extra,
  };
}

/** Decode a test body. */
export function text(body: Uint8Array): string {
  return JSON.parse(new TextDecoder().decode(body)) as string;
}
