import { describeLines, ReserveStock } from '../contracts.js';
import type { ShopRuntime } from '../services/runtime.js';

/** Stock per SKU, in this process's memory. */
const stock = new Map<string, number>([
  ['apple', 100_000],
  ['pear', 80_000],
  ['plum', 60_000],
  ['fig', 40_000],
]);

/** No retry brings stock back: the policy dead-letters it at once. */
class OutOfStockError extends Error {
  override readonly name = 'OutOfStockError';
}

/**
 * inventory-service: reserves stock on `stock.reserve` (a command addressed to
 * it by name) and keeps a ledger of every order event through the pattern
 * `order.*`.
 */
export function inventoryService(shop: ShopRuntime): void {
  shop.handleCommand(
    ReserveStock,
    async (command) => {
      // Check every line before taking any, so a refused order leaves the stock as it was.
      for (const line of command.items) {
        const left = stock.get(line.sku) ?? 0;
        if (left < line.quantity) throw new OutOfStockError(`only ${left}×${line.sku} left, ${line.quantity} wanted`);
      }
      for (const line of command.items) stock.set(line.sku, (stock.get(line.sku) ?? 0) - line.quantity);
      const first = command.items[0];
      const left = first ? `, ${stock.get(first.sku)}×${first.sku} left` : '';
      shop.log(`reserved ${describeLines(command.items)} for ${command.orderId}${left}`);
    },
    { name: 'reserve-stock', retry: { retryable: (error) => !(error instanceof OutOfStockError) } },
  );
  shop.handleEvent(
    'order.*',
    async (event, ctx) => {
      const orderId = (event as { orderId?: unknown }).orderId;
      shop.log(`ledger: ${ctx.headers.name} ${String(orderId)} (via order.*)`);
    },
    { name: 'ledger' },
  );
}
