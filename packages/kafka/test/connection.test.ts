import { createService } from '@switchyard/core';
import type { ConnectionState } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../src/index.js';
import { FAST_GROUPS, tryStartMockCluster, unique } from './cluster.js';
import { proxyCluster } from './proxied-cluster.js';

/** watchConnection and service.health() through an outage of every broker (TcpProxies refusing). */
const { cluster, failure } = await tryStartMockCluster();
const reachable = await brokerReachable('librdkafka mock Kafka cluster (apt-get install librdkafka-dev)', async () => {
  if (!cluster) throw failure;
});
const near = await proxyCluster(cluster);
afterAll(async () => {
  await near.close();
  await cluster?.stop();
});

describe.runIf(reachable)('kafka: connection state', () => {
  it('a service reports connected → disconnected → connected in health() and through watchConnection', async () => {
    const transport = new KafkaTransport({
      brokers: cluster?.brokers ?? [],
      topicPrefix: `${unique('conn')}.`,
      socketFactory: near.socketFactory,
      ...FAST_GROUPS,
    });
    const states: ConnectionState['status'][] = [];
    const unwatch = transport.watchConnection((state) => {
      if (states.at(-1) !== state.status) states.push(state.status);
    });
    const service = createService({ name: unique('conn-svc'), transport, handleSignals: false });
    try {
      await service.start();
      await waitFor(() => service.health().transport.connected === true, 'connected after start', 15_000);
      expect(service.health().healthy).toBe(true);

      await near.refuse();
      await waitFor(
        () => service.health().transport.connected === false,
        'disconnected while every broker refuses',
        20_000,
      );
      expect(service.health()).toMatchObject({ healthy: false, transport: { name: 'kafka', connected: false } });
      expect(service.health().lastError).toMatch(/kafka/);

      await near.restore();
      await waitFor(() => service.health().transport.connected === true, 'connected once the brokers are back', 30_000);
      expect(service.health().lastError).toBeUndefined();
      expect(states).toEqual(['connected', 'disconnected', 'connected']);
    } finally {
      unwatch();
      await near.restore();
      await service.stop();
      await transport.close();
    }
  }, 90_000);
});
