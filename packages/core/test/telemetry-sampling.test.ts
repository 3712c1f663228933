import { SpanKind } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand } from '../src/contracts/contract.js';
import { createService } from '../src/service/service.js';
import { otelFixture } from './otel-fixtures.js';

const Work = defineCommand('sampling.work', z.object({ n: z.number() }));

// A ParentBased ratio sampler keeps or drops whole traces: the producer's decision travels in
// ce-traceparent (sampled flag), and the consumer's process span follows it.
it('with a ParentBased ratio sampler, a trace is sampled whole or not at all; every message is handled and counted', async () => {
  const otel = otelFixture();
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.5) }),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const service = createService({
    name: 'sampling',
    transport: 'memory://sampling',
    handleSignals: false,
    telemetry: { tracerProvider, meterProvider: otel.meterProvider },
  });
  const handled: number[] = [];
  service.handle(Work, ({ n }) => void handled.push(n), { distributed: true });
  await service.start();
  try {
    const total = 40;
    for (let n = 0; n < total; n++) await service.distributedBus.sendCommand('sampling', Work, { n });
    await expect.poll(() => handled.length, { timeout: 10_000 }).toBe(total);
    await service.whenIdle();
    const spans = exporter.getFinishedSpans();
    const producers = spans.filter((span) => span.kind === SpanKind.PRODUCER);
    const consumers = spans.filter((span) => span.kind === SpanKind.CONSUMER);
    // 0 or 40 of 40 at ratio 0.5 has a chance of about 2e-12.
    expect(producers.length).toBeGreaterThan(0);
    expect(producers.length).toBeLessThan(total);
    expect(consumers.length).toBe(producers.length);
    const producerIds = new Set(producers.map((span) => span.spanContext().spanId));
    for (const consumer of consumers) expect(producerIds.has(consumer.parentSpanContext?.spanId ?? '')).toBe(true);
    expect(await otel.sum('messaging.client.consumed.messages')).toBe(total);
  } finally {
    await service.stop();
    await tracerProvider.shutdown();
    await otel.shutdown();
  }
});
