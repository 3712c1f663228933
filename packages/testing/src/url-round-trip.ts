import { createService, defineCommand, defineEvent } from '@switchyard/core';
import { z } from 'zod';
import { waitFor } from './broker-gate.js';

const PlaceOrder = defineCommand('order.place', z.object({ orderId: z.string() }));
const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string() }));

/** What {@link commandThenPatternEvent} saw: order ids per handler. */
export interface RoundTrip {
  readonly handled: readonly string[];
  readonly shipped: readonly string[];
}

/**
 * The smallest end-to-end check of a transport reached through core by URL
 * (so core's lazy `transportFromUrl` import is exercised too): service
 * `orders` handles the command `order.place` and publishes `order.placed`;
 * service `shipping` subscribes to `order.*`. Starts both, sends one command
 * from `shipping` to `orders`, waits for the event at `shipping`, and stops
 * both services whatever happens. Rejects when the event does not arrive
 * within `waitFor`'s timeout; resolves with what each handler saw, for the
 * caller to assert.
 */
export async function commandThenPatternEvent(
  url: string,
  names: { readonly orders: string; readonly shipping: string },
): Promise<RoundTrip> {
  const handled: string[] = [];
  const shipped: string[] = [];
  const orders = createService({ name: names.orders, transport: url, handleSignals: false });
  orders.handle(
    PlaceOrder,
    async (command, ctx) => {
      handled.push(command.orderId);
      await ctx.publishEvent(OrderPlaced, { orderId: command.orderId });
    },
    { distributed: true },
  );
  const shipping = createService({ name: names.shipping, transport: url, handleSignals: false });
  shipping.handle(
    'order.*',
    (event) => {
      shipped.push((event as { orderId: string }).orderId);
    },
    { distributed: true },
  );
  try {
    await orders.start();
    await shipping.start();
    await shipping.distributedBus.sendCommand(names.orders, PlaceOrder, { orderId: 'o-1' });
    await waitFor(() => shipped.length === 1, 'the event at the shipping service');
    return { handled, shipped };
  } finally {
    await Promise.allSettled([orders.stop(), shipping.stop()]);
  }
}
