import { createService, defineCommand, defineEvent } from '@switchyard/core';
import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { brokerReachable, MessageSpy } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { RabbitMqTransport } from '../src/index.js';
import { deleteObjects, probeRabbit, RABBIT_NAME, RABBIT_URL, unique } from './helpers.js';

const reachable = await brokerReachable(RABBIT_NAME, probeRabbit);

/**
 * One application spanning two brokers: `billing` lives on RabbitMQ, `shipping`
 * on another transport (in-memory here), and the service map routes commands
 * and events between them with no code aware of where the other side lives.
 */
describe.runIf(reachable)('mixed topology through the service map', () => {
  const exchange = unique('sy-test-mixed');
  const prefix = unique('mixed');
  const Ship = defineCommand(`${prefix}.ship`, z.object({ orderId: z.string() }));
  const Shipped = defineEvent(`${prefix}.shipped`, z.object({ orderId: z.string() }));
  const Invoice = defineCommand(`${prefix}.invoice`, z.object({ orderId: z.string() }));
  const billingName = `${prefix}-billing`;
  const shippingName = `${prefix}-shipping`;
  const rabbit = () => new RabbitMqTransport({ url: RABBIT_URL, exchange });
  const broker = new MemoryBroker();
  const services = { [billingName]: { transport: 'rabbit' }, [shippingName]: { transport: 'local' } };
  afterAll(() => deleteObjects([billingName, shippingName], [exchange]));

  it('routes commands both ways and events across brokers', async () => {
    const billingRabbit = rabbit();
    const shippingRabbit = rabbit();
    const billing = createService({
      name: billingName,
      transports: { rabbit: billingRabbit, local: new MemoryTransport({ broker }) },
      services,
      handleSignals: false,
    });
    const shipping = createService({
      name: shippingName,
      transports: { rabbit: shippingRabbit, local: new MemoryTransport({ broker }) },
      services,
      handleSignals: false,
    });
    const spy = new MessageSpy().watch(billing).watch(shipping);
    const log: string[] = [];
    billing.handle(Invoice, (command) => void log.push(`billing invoiced ${command.orderId}`), { distributed: true });
    billing.handle(Shipped, (event) => void log.push(`billing saw shipped ${event.orderId}`), { distributed: true });
    shipping.handle(
      Ship,
      async (command, ctx) => {
        log.push(`shipping shipped ${command.orderId}`);
        await ctx.sendCommand(billingName, Invoice, { orderId: command.orderId });
        await ctx.publishEvent(Shipped, { orderId: command.orderId });
      },
      { distributed: true },
    );
    await billing.start();
    await shipping.start();
    try {
      await billing.distributedBus.sendCommand(shippingName, Ship, { orderId: 'o-1' });
      await spy.until(() => spy.handled.length === 3, 'the command, the reply command and the event handled', 15_000);
      expect(log.sort()).toEqual(['billing invoiced o-1', 'billing saw shipped o-1', 'shipping shipped o-1']);
      // The command to shipping went through the in-memory broker, not RabbitMQ.
      expect(spy.handled.find((e) => e.name === Ship.name)?.service).toBe(shippingName);
      expect(broker.stats(shippingName)).toBeDefined();
      expect(broker.stats(billingName)).toBeUndefined();
    } finally {
      await shipping.stop();
      await billing.stop();
      await Promise.all([billingRabbit.close(), shippingRabbit.close()]);
    }
  });
});
