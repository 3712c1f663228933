import { defineCommand, defineEvent } from '@switchyard/core';
import { z } from 'zod';

/** Contracts shared by the flow tests' three services. */
export const PlaceOrder = defineCommand(
  'order.place',
  z.object({
    orderId: z.string(),
    items: z.array(z.object({ sku: z.string(), quantity: z.number().int().positive() })),
  }),
);
export const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string(), total: z.number() }));
export const OrderShipped = defineEvent('order.shipped', z.object({ orderId: z.string() }));
export const ReserveStock = defineCommand('stock.reserve', z.object({ orderId: z.string(), sku: z.string() }));
