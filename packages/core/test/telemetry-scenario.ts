import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { expect } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineEvent } from '../src/contracts/contract.js';
import type { ServiceOptions } from '../src/service/options.js';
import type { Service } from '../src/service/service.js';
import { createService } from '../src/service/service.js';
import { otelFixture, spanTree } from './otel-fixtures.js';

/**
 * Three services, one order: `order` handles PlaceOrder and publishes
 * OrderPlaced; `inventory` handles OrderPlaced and sends Notify to
 * `notification`, whose handler fails once (a delayed retry) before it
 * succeeds. The test sends PlaceOrder inside its own span. Shared by the
 * in-memory and the broker test.
 */
export async function threeServiceTrace(options: {
  prefix: string;
  /** Transport options of each service (same broker). */
  transport: (service: string) => Pick<ServiceOptions, 'transport' | 'transports' | 'services'>;
}): Promise<{ spans: ReadableSpan[] }> {
  const otel = otelFixture();
  const { prefix } = options;
  const PlaceOrder = defineCommand(`${prefix}.place`, z.object({ orderId: z.string() }));
  const OrderPlaced = defineEvent(`${prefix}.placed`, z.object({ orderId: z.string() }));
  const Notify = defineCommand(`${prefix}.notify`, z.object({ orderId: z.string() }));
  const names = { order: `${prefix}-order`, inventory: `${prefix}-inventory`, notification: `${prefix}-notification` };
  const make = (name: string): Service =>
    createService({
      name,
      ...options.transport(name),
      handleSignals: false,
      telemetry: otel.telemetry,
      retry: { instantRetries: 0, delayedRetries: 2, initialDelayMs: 5, jitter: 0 },
    });
  const order = make(names.order);
  const inventory = make(names.inventory);
  const notification = make(names.notification);
  order.handle(PlaceOrder, async (command, ctx) => ctx.publishEvent(OrderPlaced, command), { distributed: true });
  inventory.handle(OrderPlaced, async (event, ctx) => ctx.sendCommand(names.notification, Notify, event), {
    distributed: true,
  });
  let audited = 0;
  inventory.handle(OrderPlaced, () => void audited++, { distributed: true, name: 'audit' });
  let failures = 1;
  let notified = 0;
  notification.handle(
    Notify,
    () => {
      if (failures-- > 0) throw new Error('mail server busy');
      notified++;
    },
    { distributed: true },
  );
  const services = [order, inventory, notification];
  try {
    for (const service of services) await service.start();
    const tracer = otel.tracerProvider.getTracer('test');
    await tracer.startActiveSpan('checkout', async (span) => {
      await order.distributedBus.sendCommand(names.order, PlaceOrder, { orderId: 'o-17' });
      span.end();
    });
    await expect.poll(() => notified, { timeout: 10_000 }).toBe(1);
    await expect
      .poll(() => otel.spans().filter((span) => span.kind === SpanKind.CONSUMER).length, { timeout: 5_000 })
      .toBe(5);
    expect(audited).toBe(1);
    const spans = otel.spans();
    const tree = spanTree(spans);
    const root = spans.find((span) => span.name === 'checkout');
    expect(root, tree).toBeDefined();
    const traceId = root?.spanContext().traceId;
    // One trace from the first send to the last handler.
    expect(new Set(spans.map((span) => span.spanContext().traceId)), tree).toEqual(new Set([traceId]));
    const byId = new Map(spans.map((span) => [span.spanContext().spanId, span]));
    const parentOf = (span: ReadableSpan) => byId.get(span.parentSpanContext?.spanId ?? '');
    const consumer = (channelPart: string, outcome: string) =>
      spans.find(
        (span) =>
          span.kind === SpanKind.CONSUMER &&
          String(span.attributes['messaging.destination.name']).includes(channelPart) &&
          span.attributes['switchyard.outcome'] === outcome,
      );
    // Parent/child: checkout → send → process(order) → publish → process(inventory) → send → process(notification).
    const orderProcess = consumer(names.order, 'handled');
    const inventoryProcess = spans.find(
      (span) =>
        span.kind === SpanKind.CONSUMER &&
        span.attributes['switchyard.handler'] !== 'audit' &&
        String(span.attributes['messaging.destination.name']).includes(names.inventory),
    );
    const audit = spans.find((span) => span.attributes['switchyard.handler'] === 'audit');
    const notifyRetried = consumer(names.notification, 'retried');
    const notifyHandled = consumer(names.notification, 'handled');
    for (const span of [orderProcess, inventoryProcess, notifyRetried, notifyHandled]) expect(span, tree).toBeDefined();
    expect(parentOf(orderProcess as ReadableSpan)?.kind, tree).toBe(SpanKind.PRODUCER);
    expect(parentOf(parentOf(orderProcess as ReadableSpan) as ReadableSpan)?.name, tree).toBe('checkout');
    const publish = parentOf(inventoryProcess as ReadableSpan) as ReadableSpan;
    expect(publish.kind, tree).toBe(SpanKind.PRODUCER);
    expect(publish.attributes['messaging.operation.name']).toBe('publish');
    expect(parentOf(publish)?.spanContext().spanId, tree).toBe(orderProcess?.spanContext().spanId);
    // A second handler of the same delivery is a sibling, not a child of the first one's span.
    expect(audit?.parentSpanContext?.spanId, tree).toBe(publish.spanContext().spanId);
    const notifySend = parentOf(notifyRetried as ReadableSpan) as ReadableSpan;
    expect(parentOf(notifySend)?.spanContext().spanId, tree).toBe(inventoryProcess?.spanContext().spanId);
    // The retry copy is sent inside the failed run's span; the second run is its child.
    const retrySend = parentOf(notifyHandled as ReadableSpan) as ReadableSpan;
    expect(retrySend.attributes['switchyard.origin'], tree).toBe('retry');
    expect(parentOf(retrySend)?.spanContext().spanId, tree).toBe(notifyRetried?.spanContext().spanId);
    // Attributes by the conventions' names.
    expect(orderProcess?.attributes).toMatchObject({
      'messaging.system': expect.any(String),
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': expect.stringContaining(names.order),
      'messaging.consumer.group.name': names.order,
      'messaging.message.id': expect.any(String),
      'messaging.message.conversation_id': expect.any(String),
      'switchyard.handler': PlaceOrder.name,
      'switchyard.attempt': 1,
    });
    expect(notifyHandled?.attributes['switchyard.attempt']).toBe(2);
    const conversation = orderProcess?.attributes['messaging.message.conversation_id'];
    for (const span of spans.filter((s) => s.kind !== SpanKind.INTERNAL))
      expect(span.attributes['messaging.message.conversation_id'], span.name).toBe(conversation);
    expect(publish.attributes).toMatchObject({
      'messaging.operation.type': 'send',
      'messaging.destination.name': OrderPlaced.name,
      'messaging.system': expect.any(String),
    });
    // Retry as span events: the handler's exception, then the scheduled retry.
    const events = notifyRetried?.events.map((event) => event.name);
    expect(events).toEqual(['exception', 'retry']);
    expect(notifyRetried?.events[1]?.attributes).toMatchObject({ 'switchyard.next_attempt': 2 });
    // Counters equal what was sent and handled.
    expect(await otel.sum('messaging.client.sent.messages')).toBe(4); // place, placed, notify, retry copy
    expect(await otel.sum('messaging.client.sent.messages', { 'switchyard.origin': 'retry' })).toBe(1);
    expect(await otel.sum('messaging.client.consumed.messages')).toBe(5);
    expect(await otel.sum('messaging.client.consumed.messages', { 'switchyard.outcome': 'handled' })).toBe(4);
    expect(await otel.sum('switchyard.retries')).toBe(1);
    expect(await otel.sum('switchyard.handlers.in_flight')).toBe(0);
    const durations = await otel.metric('messaging.process.duration');
    expect(durations.reduce((n, point) => n + (point.value as { count: number }).count, 0)).toBe(5);
    // The attributes the messaging semconv requires on messaging.process.duration.
    for (const point of durations)
      expect(point.attributes).toMatchObject({
        'messaging.operation.name': 'process',
        'messaging.system': expect.any(String),
        'messaging.destination.name': expect.any(String),
      });
    expect(trace.getActiveSpan()).toBeUndefined();
    return { spans };
  } finally {
    for (const service of services) await service.stop();
    await otel.shutdown();
  }
}
