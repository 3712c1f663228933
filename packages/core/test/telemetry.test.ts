import { SpanKind } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand } from '../src/contracts/contract.js';
import { MemoryBroker } from '../src/memory/broker.js';
import { MemoryTransport } from '../src/memory/memory-transport.js';
import type { OutboundMessage } from '../src/message/outbound.js';
import { InMemoryDeadLetterStore } from '../src/resilience/memory-stores.js';
import type { OutboxRecord, OutboxStore } from '../src/resilience/stores.js';
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

  it('the outbox relay keeps the trace the message was prepared in', async () => {
    const otel = otelFixture();
    const Work = defineCommand('otel.outbox', z.object({ n: z.number() }));
    const records: OutboxRecord[] = [];
    const outbox: OutboxStore = {
      add(outbound: OutboundMessage) {
        records.push({ id: String(records.length + 1), outbound });
      },
      pending: async (limit) => records.slice(0, limit),
      markForwarded: async (ids) => {
        for (const id of ids)
          records.splice(
            records.findIndex((record) => record.id === id),
            1,
          );
      },
    } as OutboxStore;
    const service = createService({
      name: 'otel-outbox',
      transport: 'memory://otel-outbox',
      handleSignals: false,
      telemetry: otel.telemetry,
    });
    let handled = 0;
    service.handle(Work, () => void handled++, { distributed: true });
    await service.start();
    try {
      const tracer = otel.tracerProvider.getTracer('test');
      const requestSpan = await tracer.startActiveSpan('http request', async (span) => {
        (outbox as unknown as { add(o: OutboundMessage): void }).add(
          await service.distributedBus.prepareCommand('otel-outbox', Work, { n: 1 }),
        );
        span.end();
        return span;
      });
      // Forwarded later, outside the request's span.
      const forward = createService({
        name: 'otel-outbox-relay',
        transport: 'memory://otel-outbox',
        handleSignals: false,
        telemetry: otel.telemetry,
        outbox,
      });
      expect(await forward.flushOutbox()).toBe(1);
      await expect.poll(() => handled, { timeout: 5_000 }).toBe(1);
      await expect.poll(() => otel.spans().filter((s) => s.kind === SpanKind.CONSUMER).length).toBe(1);
      const relayed = otel.spans().find((s) => s.kind === SpanKind.PRODUCER);
      const consumer = otel.spans().find((s) => s.kind === SpanKind.CONSUMER);
      expect(relayed?.attributes['switchyard.origin']).toBe('outbox');
      expect(relayed?.parentSpanContext?.spanId).toBe(requestSpan.spanContext().spanId);
      expect(consumer?.spanContext().traceId).toBe(requestSpan.spanContext().traceId);
      expect(consumer?.parentSpanContext?.spanId).toBe(relayed?.spanContext().spanId);
      await forward.stop();
    } finally {
      await service.stop();
      await otel.shutdown();
    }
  });
});
