import { describeLines, OrderPlaced, PlaceOrder, ReserveStock, Services } from '../contracts.js';
import type { ShopRuntime } from '../services/runtime.js';

/**
 * order-service: accepts `order.place`, asks inventory-service to reserve the
 * stock (a command to a named service) and publishes `order.placed` (an event
 * fanned out by pattern). Both sends carry the order's correlation id.
 */
export function orderService(shop: ShopRuntime): void {
  shop.handleCommand(
    PlaceOrder,
    async (order, ctx) => {
      await ctx.sendCommand(Services.inventory, ReserveStock, { orderId: order.orderId, items: order.items });
      await ctx.publishEvent(OrderPlaced, { orderId: order.orderId, email: order.email, items: order.items });
      shop.log(
        `accepted ${order.orderId} (${describeLines(order.items)}): stock reservation sent, order.placed published`,
      );
    },
    { name: 'place-order' },
  );
}
