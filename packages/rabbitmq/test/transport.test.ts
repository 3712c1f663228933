import type { Delivery } from '@switchyard/core/transport';
import { ConfigurationError, ErrorCode, TransportError } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { brokerFixture, deleteObjects, message, payloadOf, probeRabbit, RABBIT_NAME } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

describe.runIf(reachable)('RabbitMqTransport on a real broker', () => {
  const { open, channel, collect } = brokerFixture();

  it('sends to a never-provisioned channel and delivers with headers intact', async () => {
    const transport = open();
    const queue = channel();
    const sent = message({ n: 1 }, { key: 'k1', headers: { 'ce-traceparent': '00-abc-def-01' } });
    await transport.send(queue, [sent]);
    const { received, handler } = collect();
    const subscription = await transport.consume(queue, handler);
    await waitFor(() => received.length === 1, 'the message');
    const got = received[0] as Delivery;
    expect(got.message.id).toBe(sent.id);
    expect(got.message.headers).toEqual(sent.headers);
    expect(got.message.key).toBe('k1');
    expect(got.channel).toBe(queue);
    expect(got.deliveryCount).toBe(1);
    expect(payloadOf(got.message)).toEqual({ n: 1 });
    await subscription.close();
  });

  it('declares a channel again when its queue was deleted behind its back (a returned send is not lost)', async () => {
    const transport = open();
    const queue = channel('deleted');
    await transport.send(queue, [message({ n: 1 })]);
    await deleteObjects([queue]);
    await transport.send(queue, [message({ n: 2 })]);
    const { received, handler } = collect();
    const subscription = await transport.consume(queue, handler);
    await waitFor(() => received.length === 1, 'the message sent after the deletion');
    expect(payloadOf((received[0] as Delivery).message)).toEqual({ n: 2 });
    await subscription.close();
  });

  it('resumes a consumer whose queue was deleted under it once the queue is back', async () => {
    const transport = open({ reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    const queue = channel('cancelled');
    const { received, handler } = collect();
    const subscription = await transport.consume(queue, handler);
    await deleteObjects([queue]);
    // The consumer was cancelled by the broker; it declares the queue again when it re-attaches.
    await transport.send(queue, [message({ n: 'after' })]);
    await waitFor(() => received.length === 1, 'the message sent after the deletion');
    await subscription.close();
  });

  it('declares its exchanges again when someone deleted them', async () => {
    const transport = open();
    const queue = channel('redeclare');
    await transport.provision({ channels: [{ name: queue, subscriptions: ['again.*'] }] });
    await deleteObjects([], [transport.exchange]);
    // Provision declares the exchange again and restores the binding that went with it.
    await transport.provision({ channels: [{ name: queue, subscriptions: ['again.*'] }] });
    await deleteObjects([], [transport.exchange]);
    // This event finds no exchange; the transport declares it again and republishes (no binding now: dropped).
    await transport.publish([{ ...message({ n: 1 }), routingKey: 'again.x' }]);
    await transport.provision({ channels: [{ name: queue, subscriptions: ['again.*'] }] });
    await transport.publish([{ ...message({ n: 2 }), routingKey: 'again.x' }]);
    const { received, handler } = collect();
    const subscription = await transport.consume(queue, handler);
    await waitFor(() => received.length === 1, 'the event published after re-provisioning');
    expect(payloadOf((received[0] as Delivery).message)).toEqual({ n: 2 });
    await subscription.close();
  });

  it('redelivers after nack, counting deliveries', async () => {
    const transport = open();
    const queue = channel();
    await transport.send(queue, [message({ n: 1 })]);
    const counts: number[] = [];
    const subscription = await transport.consume(queue, async (delivery) => {
      counts.push(delivery.deliveryCount);
      if (counts.length === 1) await delivery.nack();
      else await delivery.ack();
    });
    await waitFor(() => counts.length === 2, 'the redelivery');
    expect(counts).toEqual([1, 2]);
    await subscription.close();
  });

  it('holds nack({ delayMs }) and deliverAt on the broker until due', async () => {
    const transport = open();
    const queue = channel();
    const events = channel('ev');
    await transport.provision({ channels: [{ name: events, subscriptions: ['later.*'] }] });
    const deliverAt = Date.now() + 400;
    await transport.send(queue, [message({ n: 'at' }, { deliverAt }), message({ n: 'now' })]);
    await transport.publish([{ ...message({ n: 'event' }, { deliverAt }), routingKey: 'later.x' }]);
    const seen: Array<{ n: string; at: number; count: number }> = [];
    const subscription = await transport.consume(queue, async (delivery) => {
      const { n } = payloadOf(delivery.message) as { n: string };
      seen.push({ n, at: Date.now(), count: delivery.deliveryCount });
      if (n === 'now' && delivery.deliveryCount === 1) await delivery.nack({ delayMs: 300 });
      else await delivery.ack();
    });
    const eventAt: number[] = [];
    const eventSubscription = await transport.consume(events, async (delivery) => {
      eventAt.push(Date.now());
      await delivery.ack();
    });
    await waitFor(() => seen.length === 3 && eventAt.length === 1, 'the delayed messages', 10_000);
    const first = seen.find((s) => s.n === 'now' && s.count === 1);
    const again = seen.find((s) => s.n === 'now' && s.count === 2);
    const late = seen.find((s) => s.n === 'at');
    expect(first && again && again.at - first.at).toBeGreaterThanOrEqual(300);
    expect(late?.at).toBeGreaterThanOrEqual(deliverAt);
    expect(eventAt[0]).toBeGreaterThanOrEqual(deliverAt);
    await subscription.close();
    await eventSubscription.close();
  });

  it('counts deliveries from x-delivery-count on quorum queues', async () => {
    const transport = open({ queueType: 'quorum' });
    const queue = channel('quorum');
    await transport.provision({ channels: [{ name: queue, subscriptions: [] }] });
    await transport.send(queue, [message({ n: 1 })]);
    const counts: number[] = [];
    const subscription = await transport.consume(queue, async (delivery) => {
      counts.push(delivery.deliveryCount);
      if (counts.length < 3) await delivery.nack();
      else await delivery.ack();
    });
    await waitFor(() => counts.length === 3, 'three deliveries');
    expect(counts).toEqual([1, 2, 3]);
    await subscription.close();
  });

  it('runs at most `concurrency` handlers at once', async () => {
    const transport = open();
    const queue = channel();
    await transport.send(
      queue,
      Array.from({ length: 30 }, (_, n) => message({ n })),
    );
    let running = 0;
    let peak = 0;
    let done = 0;
    const subscription = await transport.consume(
      queue,
      async (delivery) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
        done++;
        await delivery.ack();
      },
      { concurrency: 4, prefetch: 10 },
    );
    await waitFor(() => done === 30, 'all 30');
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThan(1);
    await subscription.close();
  });

  it('deliveries waiting for a handler slot run in arrival order (concurrency 1, prefetch 10)', async () => {
    const transport = open();
    const queue = channel();
    await transport.send(
      queue,
      Array.from({ length: 20 }, (_, n) => message({ n })),
    );
    const order: number[] = [];
    let running = 0;
    let peak = 0;
    const subscription = await transport.consume(
      queue,
      async (delivery) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setImmediate(resolve));
        order.push((payloadOf(delivery.message) as { n: number }).n);
        running--;
        await delivery.ack();
      },
      { concurrency: 1, prefetch: 10 },
    );
    await waitFor(() => order.length === 20, 'all 20');
    expect(order).toEqual(Array.from({ length: 20 }, (_, n) => n));
    expect(peak).toBe(1);
    await subscription.close();
  });

  it('returns unsettled deliveries to the queue when a subscription closes', async () => {
    const transport = open();
    const queue = channel();
    await transport.send(queue, [message({ n: 1 })]);
    let held = 0;
    const first = await transport.consume(queue, async () => {
      held++;
    });
    await waitFor(() => held === 1, 'the first delivery');
    await first.close({ drainTimeoutMs: 10 });
    const { received, handler } = collect();
    const second = await transport.consume(queue, handler);
    await waitFor(() => received.length === 1, 'the redelivery');
    expect(received[0]?.deliveryCount).toBe(2);
    await second.close();
  });

  it('is idempotent on close and rejects later sends with SY_CLOSED', async () => {
    const transport = open();
    const queue = channel();
    await transport.send(queue, [message({ n: 1 })]);
    await Promise.all([transport.close(), transport.close()]);
    await transport.close();
    await expect(transport.send(queue, [message({ n: 2 })])).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(transport.send(queue, [message({ n: 2 })])).rejects.toBeInstanceOf(TransportError);
  });

  it('answers ping and rejects invalid channel names', async () => {
    const transport = open();
    await transport.ping();
    await expect(transport.send('amq.reserved', [message({})])).rejects.toBeInstanceOf(ConfigurationError);
    await expect(
      transport.provision({ channels: [{ name: channel(), subscriptions: ['bad pattern'] }] }),
    ).rejects.toBeInstanceOf(ConfigurationError);
  });
});
