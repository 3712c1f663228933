import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OTLPProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { createService, defineCommand, type Service } from '@switchyard/core';
import { SqliteDeadLetterStore } from '@switchyard/sqlite';
import { waitFor } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CliConfig } from '../src/config.js';
import { MAX_OTLP_BYTES } from '../src/dashboard/otlp-receiver.js';
import { MAX_SERIES } from '../src/dashboard/rates.js';
import { type Dashboard, startDashboard } from '../src/index.js';

const PlaceOrder = defineCommand('order.place', z.object({ n: z.number().int() }));
const SendMail = defineCommand('mail.send', z.object({ n: z.number().int() }));

interface Counts {
  handled: number[];
  retried: number[];
  deadLettered: number[];
}
interface Flow {
  metricsSince?: string;
  services: { service: string; deadLettered: number[]; metrics?: Counts }[];
}
const total = (list: readonly number[] | undefined) => (list ?? []).reduce((a, b) => a + b, 0);

/**
 * Services on SQLite export their OpenTelemetry metrics with the SDK's OTLP/HTTP exporter to a
 * dashboard started here; `/api/flow` then reports exactly the messages they handled, retried and
 * dead-lettered: cumulative (the default) across exports and a restart, and delta; OTLP/JSON and
 * OTLP/protobuf (gzip). Bad requests
 * to `/v1/metrics` are refused and count nothing.
 */
describe('switchyard dashboard: OTLP metrics from the services', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-otlp-'));
  const db = join(dir, 'switchyard.db');
  const order = `order-${process.pid}`;
  const mail = `mail-${process.pid}`;
  let dashboard: Dashboard;
  const running: { service: Service; provider: MeterProvider }[] = [];
  const handled = new Map<string, number>();
  const deadLettered: string[] = [];

  beforeAll(async () => {
    // The dashboard reads only a SQLite file that exists (it never creates one).
    const store = new SqliteDeadLetterStore(db);
    expect(await store.count()).toBe(0);
    await store.close();
    const config: CliConfig = {
      source: 'test',
      transports: { default: `sqlite:${db}` },
      services: { [order]: {}, [mail]: {} },
      deadLetters: undefined,
      app: undefined,
    };
    dashboard = await startDashboard(config, { port: 0, sampleMs: 60_000 });
  });
  afterAll(async () => {
    for (const { service, provider } of running.splice(0)) {
      await service.stop();
      await provider.shutdown();
    }
    await dashboard?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A service with its own MeterProvider exporting to the dashboard; `flush` exports once, now. */
  async function start(name: string, temporality = AggregationTemporality.CUMULATIVE, protobuf = false) {
    const options = {
      url: `${dashboard.url}v1/metrics`,
      headers: { Authorization: `Bearer ${dashboard.token}` },
      temporalityPreference: temporality,
      ...(protobuf ? { compression: CompressionAlgorithm.GZIP } : {}),
    };
    const exporter = protobuf ? new OTLPProtoMetricExporter(options) : new OTLPMetricExporter(options);
    // The interval is long: the test exports by forceFlush, which rejects when the export fails.
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const service = createService({
      name,
      transport: `sqlite:${db}`,
      handleSignals: false,
      telemetry: { meterProvider: provider },
      retry: { instantRetries: 0, delayedRetries: 1, initialDelayMs: 10, jitter: 0 },
    });
    service.on('deadLettered', ({ record }) => void deadLettered.push(record.id));
    const entry = { service, provider };
    running.push(entry);
    return {
      service,
      flush: () => reader.forceFlush(),
      stop: async () => {
        running.splice(running.indexOf(entry), 1);
        await service.stop();
        await provider.shutdown();
      },
    };
  }

  const flow = async (): Promise<Flow> => {
    const response = await fetch(`${dashboard.url}api/flow?minutes=5`, {
      headers: { authorization: `Bearer ${dashboard.token}` },
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Flow;
  };
  const of = (view: Flow, service: string) => view.services.find((s) => s.service === service);
  const count = (name: string) => handled.get(name) ?? 0;
  const triple = (view: Flow, service: string) => {
    const counts = of(view, service)?.metrics;
    return [total(counts?.handled), total(counts?.retried), total(counts?.deadLettered)];
  };

  /**
   * Export until `/api/flow` shows `expected` [handled, retried, dead-lettered] for `service` (a
   * handler's last count may land just after the event the test waited on), then assert exactly that.
   */
  async function exported(flush: () => Promise<void>, service: string, expected: number[]): Promise<Flow> {
    const deadline = Date.now() + 10_000;
    let view: Flow;
    do {
      await flush();
      view = await flow();
    } while (JSON.stringify(triple(view, service)) !== JSON.stringify(expected) && Date.now() < deadline);
    expect(triple(view, service)).toEqual(expected);
    return view;
  }

  /** The order service: n % 5 = 0 always fails (dead letter after one retry), n % 5 = 1 fails once. */
  function handleOrders(service: Service) {
    const failedOnce = new Set<number>();
    service.handle(
      PlaceOrder,
      async ({ n }) => {
        if (n % 5 === 0 || (n % 5 === 1 && !failedOnce.has(n))) {
          failedOnce.add(n);
          throw new Error(`order ${n} failed`);
        }
        handled.set(order, count(order) + 1);
      },
      { distributed: true },
    );
  }

  it('reports the handled, retried and dead-lettered counts of the services, cumulative across a restart', async () => {
    const first = await start(order);
    handleOrders(first.service);
    await first.service.start();
    await Promise.all(
      Array.from({ length: 20 }, (_, n) => first.service.distributedBus.sendCommand(order, PlaceOrder, { n })),
    );
    await waitFor(
      () => count(order) === 16 && deadLettered.length === 4,
      () => `16 handled (${count(order)}) and 4 dead letters (${deadLettered.length})`,
    );
    let view = await exported(first.flush, order, [16, 8, 4]);
    expect(view.metricsSince).toBeDefined();
    // The stores' dead letters agree with the counter.
    expect(total(of(view, order)?.deadLettered)).toBe(4);

    // A second export of running totals adds only the increase.
    await Promise.all(
      [2, 3, 4].map((n) => first.service.distributedBus.sendCommand(order, PlaceOrder, { n: n + 100 })),
    );
    await waitFor(
      () => count(order) === 19,
      () => `19 handled, got ${count(order)}`,
    );
    await first.flush();
    await exported(first.flush, order, [19, 8, 4]);

    // A restarted service starts its counters from zero: its whole new total is new.
    await first.stop();
    const second = await start(order);
    handleOrders(second.service);
    await second.service.start();
    await Promise.all([2, 3].map((n) => second.service.distributedBus.sendCommand(order, PlaceOrder, { n: n + 200 })));
    await waitFor(
      () => count(order) === 21,
      () => `21 handled, got ${count(order)}`,
    );
    view = await exported(second.flush, order, [21, 8, 4]);
    // The mail service has sent nothing yet: no metrics, not zeros.
    expect(of(view, mail)?.metrics).toBeUndefined();
  });

  it('adds delta exports as they come (protobuf, gzip-compressed)', async () => {
    const mailer = await start(mail, AggregationTemporality.DELTA, true);
    mailer.service.handle(SendMail, async () => void handled.set(mail, count(mail) + 1), { distributed: true });
    await mailer.service.start();
    for (const [batch, expected] of [
      [3, 3],
      [2, 5],
    ] as const) {
      await Promise.all(
        Array.from({ length: batch }, (_, n) => mailer.service.distributedBus.sendCommand(mail, SendMail, { n })),
      );
      await waitFor(
        () => count(mail) === expected,
        () => `${expected} mails handled, got ${count(mail)}`,
      );
      await exported(mailer.flush, mail, [expected, 0, 0]);
    }
  });

  it('refuses a request without the token, too large, undecodable, not OTLP, or of another type, and counts nothing', async () => {
    const before = await flow();
    const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
      fetch(`${dashboard.url}v1/metrics`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${dashboard.token}`, 'content-type': 'application/json', ...headers },
      });
    const valid = JSON.stringify({ resourceMetrics: [] });
    const unauthorized = await post(valid, { authorization: '' });
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ code: 16, message: expect.stringContaining('Bearer') });
    expect((await post(valid, { authorization: `Bearer ${'x'.repeat(43)}` })).status).toBe(401);

    const huge = await post(`{"resourceMetrics":[],"pad":"${'x'.repeat(MAX_OTLP_BYTES)}"}`);
    expect(huge.status).toBe(413);
    const bomb = await post(gzipSync(Buffer.alloc(MAX_OTLP_BYTES + 1, 32)), { 'content-encoding': 'gzip' });
    expect(bomb.status).toBe(413);

    for (const garbage of ['not json', '[1,2]', '{"resourceMetrics":5}', '{"resourceMetrics":[{"scopeMetrics":{}}]}']) {
      const response = await post(garbage);
      expect(response.status, garbage).toBe(400);
      expect(await response.json()).toMatchObject({ code: 3, message: expect.any(String) });
    }
    const badPoint = {
      resourceMetrics: [
        {
          scopeMetrics: [
            {
              metrics: [
                {
                  name: 'switchyard.retries',
                  sum: { aggregationTemporality: 1, isMonotonic: true, dataPoints: [{ asInt: 'many' }] },
                },
              ],
            },
          ],
        },
      ],
    };
    expect((await post(JSON.stringify(badPoint))).status).toBe(400);
    // A protobuf field 1 (resourceMetrics) whose length runs past the end.
    expect((await post(Buffer.from([0x0a, 0x05, 0x01]), { 'content-type': 'application/x-protobuf' })).status).toBe(
      400,
    );
    expect((await post(valid, { 'content-type': 'text/plain' })).status).toBe(415);
    const get = await fetch(`${dashboard.url}v1/metrics`, { headers: { authorization: `Bearer ${dashboard.token}` } });
    expect(get.status).toBe(405);

    expect(await post(valid).then((r) => r.json())).toEqual({});
    const after = await flow();
    expect(after.services.map((s) => s.metrics)).toEqual(before.services.map((s) => s.metrics));
  });

  it('follows at most MAX_SERIES series, and says how many points it refused', async () => {
    const dataPoints = Array.from({ length: MAX_SERIES + 1 }, (_, i) => ({
      attributes: [{ key: 'switchyard.handler', value: { stringValue: `h${i}` } }],
      startTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
      asInt: '1',
    }));
    const request = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'flood-service' } }] },
          scopeMetrics: [
            {
              metrics: [
                { name: 'switchyard.retries', sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints } },
              ],
            },
          ],
        },
      ],
    };
    const response = await fetch(`${dashboard.url}v1/metrics`, {
      method: 'POST',
      body: JSON.stringify(request),
      headers: { authorization: `Bearer ${dashboard.token}`, 'content-type': 'application/json' },
    });
    expect(response.status).toBe(200);
    const { partialSuccess } = (await response.json()) as { partialSuccess: { rejectedDataPoints: number } };
    const accepted = MAX_SERIES + 1 - partialSuccess.rejectedDataPoints;
    expect(partialSuccess.rejectedDataPoints).toBeGreaterThan(0);
    expect(total(of(await flow(), 'flood-service')?.metrics?.retried)).toBe(accepted);
  });
});
