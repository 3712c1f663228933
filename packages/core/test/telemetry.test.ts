import { SpanKind } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand } from '../src/contracts/contract.js';
import { MemoryBroker } from '../src/memory/broker.js';
import { MemoryTransport } from '../src/memory/memory-transport.js';
import { InMemoryDeadLetterStore } from '../src/resilience/memory-stores.js';
import { createService } from '../src/service/service.js';
import { otelFixture } from './otel-fixtures.js';
import { threeServiceTrace } from './telemetry-scenario.js';

describe('OpenTelemetry tracing and metrics (in memory)', () => {
  it('one trace from the first send to the last handler across three services', async () => {
    const broker = new MemoryBroker();
    await threeServiceTrace({ prefix: 'otel', transport: () => ({ transport: new MemoryTransport({ broker }) }) });
  });

  it('dead letters: a span event with the code, the counter by code, the outcome attribute', async () => {
    const otel = otelFixture();
    const Work = defineCommand('otel.dl', z.object({ n: z.number() }));
    const deadLetters = new InMemoryDeadLetterStore();
    const service = createService({
      name: 'otel-dl',
      transport: 'memory://otel-dl',
      handleSignals: false,
      telemetry: otel.telemetry,
      deadLetters,
      retry: { instantRetries: 1, delayedRetries: 0 },
    });
    service.handle(
      Work,
      () => {
        throw new Error('always');
      },
      { distributed: true },
    );
    await service.start();
    try {
      await service.distributedBus.sendCommand('otel-dl', Work, { n: 1 });
      await service.distributedBus.sendCommand('otel-dl', Work, { n: 'bad' } as never).catch(() => undefined);
      await expect.poll(() => deadLetters.count(), { timeout: 5_000 }).toBe(1);
      await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.CONSUMER).length).toBe(1);
      const [span] = otel.spans().filter((s) => s.kind === SpanKind.CONSUMER);
      expect(span?.attributes['switchyard.outcome']).toBe('deadLettered');
      expect(span?.events.map((event) => event.name)).toEqual(['exception', 'exception', 'dead_letter']);
      expect(span?.events[2]?.attributes).toEqual({ 'error.type': 'SY_HANDLER_FAILED' });
      expect(await otel.sum('switchyard.dead_letters', { 'error.type': 'SY_HANDLER_FAILED' })).toBe(1);
      expect(await otel.sum('messaging.client.consumed.messages', { 'switchyard.outcome': 'deadLettered' })).toBe(1);
    } finally {
      await service.stop();
      await otel.shutdown();
    }
  });

  it('consumer spans linked instead of child with consumerSpans: link; replay keeps the original trace', async () => {
    const otel = otelFixture();
    const Work = defineCommand('otel.link', z.object({ n: z.number() }));
    const deadLetters = new InMemoryDeadLetterStore();
    const service = createService({
      name: 'otel-link',
      transport: 'memory://otel-link',
      handleSignals: false,
      telemetry: { ...otel.telemetry, consumerSpans: 'link' },
      deadLetters,
      retry: { instantRetries: 0, delayedRetries: 0 },
    });
    let fail = true;
    let handled = 0;
    service.handle(
      Work,
      () => {
        if (fail) throw new Error('first time');
        handled++;
      },
      { distributed: true },
    );
    await service.start();
    try {
      await service.distributedBus.sendCommand('otel-link', Work, { n: 1 });
      await expect.poll(() => deadLetters.count(), { timeout: 5_000 }).toBe(1);
      fail = false;
      const [record] = await deadLetters.list();
      await service.replayDeadLetter(record?.id ?? '');
      await expect.poll(() => handled, { timeout: 5_000 }).toBe(1);
      await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.CONSUMER).length).toBe(2);
      const producers = otel.spans().filter((s) => s.kind === SpanKind.PRODUCER);
      const [send, replay] = producers;
      expect(replay?.attributes['switchyard.origin']).toBe('replay');
      expect(replay?.spanContext().traceId).toBe(send?.spanContext().traceId);
      expect(replay?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
      for (const consumer of otel.spans().filter((s) => s.kind === SpanKind.CONSUMER)) {
        expect(consumer.parentSpanContext).toBeUndefined();
        expect(consumer.links).toHaveLength(1);
        expect(consumer.spanContext().traceId).not.toBe(send?.spanContext().traceId);
      }
    } finally {
      await service.stop();
      await otel.shutdown();
    }
  });
});
