import {
  AggregationTemporality,
  type DataPoint,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { createService, defineCommand } from '@switchyard/core';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('gauges');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

const Work = defineCommand('stats.work', z.object({ n: z.number() }));

// A service's channel gauges, fed by the broker's own figures, read by the SDK's in-memory metric exporter.
describe.runIf(reachable)('redis: switchyard.channel.* gauges of a service', () => {
  it('report depth, in-flight and consumers of the service channel, one broker read per max age', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const meterProvider = new MeterProvider({ readers: [reader] });
    const gauges = async (): Promise<Record<string, DataPoint<number>[]>> => {
      exporter.reset();
      await reader.forceFlush();
      const found: Record<string, DataPoint<number>[]> = {};
      for (const resource of exporter.getMetrics())
        for (const scope of resource.scopeMetrics)
          for (const metric of scope.metrics)
            if (metric.descriptor.name.startsWith('switchyard.channel.'))
              found[metric.descriptor.name] = metric.dataPoints as DataPoint<number>[];
      return found;
    };
    const transport = new RedisStreamsTransport({ url: REDIS_URL, prefix });
    const reads = vi.spyOn(transport, 'channelStats');
    const name = uniqueName('worker');
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: number[] = [];
    const worker = createService({
      name,
      transport,
      handleSignals: false,
      concurrency: 1,
      prefetch: 1,
      telemetry: { meterProvider, channelStatsMaxAgeMs: 60_000 },
    });
    worker.handle(
      Work,
      async ({ n }) => {
        started.push(n);
        await released;
      },
      { distributed: true },
    );
    const sender = createService({
      name: uniqueName('sender'),
      transport: `${REDIS_URL}?prefix=${prefix}`,
      handleSignals: false,
    });
    try {
      await worker.start();
      await sender.start();
      for (const n of [1, 2, 3]) await sender.distributedBus.sendCommand(name, Work, { n });
      await waitFor(() => started.length === 1, 'the first command to be handled');

      const first = await gauges();
      const only = (metric: string) => {
        const points = first[metric] ?? [];
        expect(points, metric).toHaveLength(1);
        expect(points[0]?.attributes).toEqual({
          'messaging.system': 'redis',
          'messaging.destination.name': name,
          'messaging.consumer.group.name': name,
        });
        return points[0]?.value;
      };
      expect(only('switchyard.channel.depth')).toBe(2);
      expect(only('switchyard.channel.in_flight')).toBe(1);
      expect(only('switchyard.channel.consumers')).toBe(1);
      expect(first['switchyard.channel.lag'], 'Redis fills no lag: no such gauge').toBeUndefined();

      // A second collection within channelStatsMaxAgeMs reuses the read: the broker is asked once.
      const second = await gauges();
      expect(second['switchyard.channel.depth']?.[0]?.value).toBe(2);
      expect(reads).toHaveBeenCalledTimes(1);
      expect(reads).toHaveBeenCalledWith([name]);
    } finally {
      release();
      await sender.stop();
      await worker.stop();
      await meterProvider.shutdown();
    }
  });
});
