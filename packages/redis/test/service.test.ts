import { createService, defineCommand, defineEvent, type Service } from '@switchyard/core';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('service');
const services: Service[] = [];

afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

const PlaceOrder = defineCommand('order.place', z.object({ orderId: z.string() }));
const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string() }));

// End to end through core: the transport is built from a redis:// URL by core's lazy import.
describe.runIf(reachable)('services over a redis:// URL', () => {
  it('a command reaches its service, whose event reaches a pattern subscriber', async () => {
    const url = `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}&leaseMs=2000`;
    const orders = uniqueName('orders');
    const shipping = uniqueName('shipping');
    const handled: string[] = [];
    const shipped: string[] = [];
    const orderService = createService({ name: orders, transport: url, handleSignals: false });
    orderService.handle(
      PlaceOrder,
      async (command, ctx) => {
        handled.push(command.orderId);
        await ctx.publishEvent(OrderPlaced, { orderId: command.orderId });
      },
      { distributed: true },
    );
    const shippingService = createService({ name: shipping, transport: url, handleSignals: false });
    shippingService.handle(
      'order.*',
      (event) => {
        shipped.push((event as { orderId: string }).orderId);
      },
      { distributed: true },
    );
    services.push(orderService, shippingService);
    await orderService.start();
    await shippingService.start();
    await shippingService.distributedBus.sendCommand(orders, PlaceOrder, { orderId: 'o-1' });
    await waitFor(() => shipped.length === 1, 'the event at the shipping service');
    expect(handled).toEqual(['o-1']);
    expect(shipped).toEqual(['o-1']);
    expect(await admin.hget(`${prefix}:subs`, shipping)).toBe('order.*');
  });
});
