import { defineCommand, defineEvent } from '@switchyard/core';
import { z } from 'zod';

/**
 * The shop's contracts, shared by every service: one zod schema per message
 * gives the TypeScript type and the runtime validation on both ends. Only the
 * message names cross the wire.
 */

/** One line of an order. */
export const OrderLine = z.object({ sku: z.string().min(1), quantity: z.number().int().positive() });

/** Command to `order-service`: accept an order from the storefront. */
export const PlaceOrder = defineCommand(
  'order.place',
  z.object({ orderId: z.string().min(1), email: z.string(), items: z.array(OrderLine).min(1) }),
);

/** Command to `inventory-service`: set stock aside for an order. */
export const ReserveStock = defineCommand(
  'stock.reserve',
  z.object({ orderId: z.string().min(1), items: z.array(OrderLine).min(1) }),
);

/** Event: an order was accepted. Inventory listens with `order.*`, notification with `order.#`. */
export const OrderPlaced = defineEvent(
  'order.placed',
  z.object({ orderId: z.string().min(1), email: z.string(), items: z.array(OrderLine).min(1) }),
);

/** The service names other services address commands to. */
export const Services = {
  order: 'order-service',
  inventory: 'inventory-service',
  notification: 'notification-service',
} as const;

/** Short names used as log prefixes, e.g. `[inventory] reserved 2×apple for o-7`. */
export const ShortNames: Readonly<Record<string, string>> = {
  'order-service': 'order',
  'inventory-service': 'inventory',
  'notification-service': 'notify',
  storefront: 'shop',
};

/** `2×apple, 1×pear`: how an order's lines are printed. */
export function describeLines(items: ReadonlyArray<{ sku: string; quantity: number }>): string {
  return items.map((line) => `${line.quantity}×${line.sku}`).join(', ');
}
