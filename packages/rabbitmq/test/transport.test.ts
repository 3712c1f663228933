import type { Delivery, TransportMessage } from '@switchyard/core/transport';
import { ConfigurationError, ErrorCode, TransportError } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RabbitMqTransport, transportFromUrl } from '../src/index.js';
import { deleteObjects, message, payloadOf, probeRabbit, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable('RabbitMQ at 127.0.0.1:5672', probeRabbit);

describe('RabbitMqTransport options', () => {
  it('rejects bad options at construction with a ConfigurationError', () => {
    expect(() => new RabbitMqTransport({ url: 'http://127.0.0.1' })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ url: 'not a url' })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ prefetch: 0 })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ exchange: 'amq.topic' })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ queueType: 'stream' as 'quorum' })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ reconnect: { initialDelayMs: 500, maxDelayMs: 100 } })).toThrow(
      ConfigurationError,
    );
  });

  it('builds a transport from a URL and takes its own query parameters', () => {
    const transport = transportFromUrl('amqps://u:p@broker:5671/vh?exchange=shop&queueType=quorum&heartbeat=5');
    expect(transport.exchange).toBe('shop');
    expect(() => transportFromUrl('redis://127.0.0.1')).toThrow(ConfigurationError);
    expect(() => transportFromUrl('amqp://h/?prefetch=many')).toThrow(ConfigurationError);
  });

  it("is what core's transportFromUrl builds for amqp:// and amqps:// URLs", async () => {
    const { transportFromUrl: coreFromUrl } = await import('@switchyard/core');
    const transport = await coreFromUrl('amqp://127.0.0.1:5672/?exchange=via-core');
    expect(transport).toBeInstanceOf(RabbitMqTransport);
    expect((transport as RabbitMqTransport).exchange).toBe('via-core');
    await transport.close();
  });

  it('rejects a ping to an unreachable broker with SY_TRANSPORT_UNAVAILABLE', async () => {
    const transport = new RabbitMqTransport({ url: 'amqp://127.0.0.1:1', operationTimeoutMs: 300 });
    await expect(transport.ping()).rejects.toMatchObject({ code: ErrorCode.TransportUnavailable });
    await transport.close();
  });

  it('rejects a send with SY_SEND_FAILED once the broker stayed away for operationTimeoutMs', async () => {
    const transport = new RabbitMqTransport({ url: 'amqp://127.0.0.1:1', operationTimeoutMs: 300 });
    const started = Date.now();
    await expect(transport.send('somewhere', [message({ n: 1 })])).rejects.toMatchObject({
      code: ErrorCode.SendFailed,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await transport.close();
  });
});

describe.runIf(reachable)('RabbitMqTransport on a real broker', () => {
  const exchange = unique('sy-test-x');
  const queues: string[] = [];
  const transports: RabbitMqTransport[] = [];
  const open = (options: ConstructorParameters<typeof RabbitMqTransport>[0] = {}) => {
    const transport = new RabbitMqTransport({
      url: RABBIT_URL,
      exchange,
      connectionName: unique('sy-test'),
      ...options,
    });
    transports.push(transport);
    return transport;
  };
  const channel = (name = 'ch') => {
    const queue = unique(name);
    queues.push(queue, `${exchange}.topology.${queue}`);
    return queue;
  };
  const collect = () => {
    const received: Delivery[] = [];
    const handler = async (delivery: Delivery) => {
      received.push(delivery);
      await delivery.ack();
    };
    return { received, handler };
  };

  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await deleteObjects(queues, [exchange, `${exchange}.delay`]);
  });

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

  it('fans events out by pattern and drops events nobody subscribed to', async () => {
    const transport = open();
    const [a, b, c] = [channel('a'), channel('b'), channel('c')];
    await transport.provision({
      channels: [
        { name: a, subscriptions: ['order.*'] },
        { name: b, subscriptions: ['order.#'] },
        { name: c, subscriptions: ['payment.*'] },
      ],
    });
    const routed = (key: string): TransportMessage & { routingKey: string } => ({
      ...message({ key }),
      routingKey: key,
    });
    await transport.publish([
      routed('order.placed'),
      routed('order.item.added'),
      routed('payment.done'),
      routed('nobody.cares'),
    ]);
    const got = new Map<string, string[]>([
      [a, []],
      [b, []],
      [c, []],
    ]);
    const subscriptions = await Promise.all(
      [a, b, c].map((name) =>
        transport.consume(name, async (delivery) => {
          got.get(name)?.push((payloadOf(delivery.message) as { key: string }).key);
          await delivery.ack();
        }),
      ),
    );
    await waitFor(() => got.get(a)?.length === 1 && got.get(b)?.length === 2 && got.get(c)?.length === 1, 'fan-out');
    expect(got.get(a)).toEqual(['order.placed']);
    expect(got.get(b)).toEqual(['order.placed', 'order.item.added']);
    expect(got.get(c)).toEqual(['payment.done']);
    await Promise.all(subscriptions.map((s) => s.close()));
  });

  it('removes bindings no longer listed, even when another process bound them', async () => {
    const queue = channel('rebind');
    await open().provision({ channels: [{ name: queue, subscriptions: ['old.*', 'kept.*'] }] });
    const second = open();
    await second.provision({ channels: [{ name: queue, subscriptions: ['kept.*', 'new.*'] }] });
    await second.provision({ channels: [{ name: queue, subscriptions: ['kept.*', 'new.*'] }] });
    const routed = (key: string) => ({ ...message({ key }), routingKey: key });
    // One publisher channel keeps order, so 'old.x' would arrive before 'new.x' if still bound.
    await second.publish([routed('old.x'), routed('kept.x'), routed('new.x')]);
    const keys: string[] = [];
    const subscription = await second.consume(queue, async (delivery) => {
      keys.push((payloadOf(delivery.message) as { key: string }).key);
      await delivery.ack();
    });
    await waitFor(() => keys.includes('new.x'), 'new.x');
    expect(keys).toEqual(['kept.x', 'new.x']);
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
