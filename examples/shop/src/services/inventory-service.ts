import { describeLines, ReserveStock, Services } from '../contracts.js';
import { runService } from './runtime.js';

/**
 * inventory-service: reserves stock on `stock.reserve` (a command addressed to
 * it by name) and keeps a ledger of every order event through the pattern
 * `order.*`.
 */
const stock = new Map<string, number>([
  ['apple', 500],
  ['pear', 300],
  ['plum', 200],
  ['fig', 100],
]);

await runService(Services.inventory, (shop) => {
  shop.handleCommand(
    ReserveStock,
    async (command) => {
      for (const line of command.items) {
        const left = stock.get(line.sku) ?? 0;
        if (left < line.quantity) throw new Error(`only ${left}×${line.sku} left, ${line.quantity} wanted`);
        stock.set(line.sku, left - line.quantity);
      }
      const first = command.items[0];
      const left = first ? `, ${stock.get(first.sku)}×${first.sku} left` : '';
      shop.log(`reserved ${describeLines(command.items)} for ${command.orderId}${left}`);
    },
    { name: 'reserve-stock' },
  );
  shop.handleEvent(
    'order.*',
    async (event, ctx) => {
      const orderId = (event as { orderId?: unknown }).orderId;
      shop.log(`ledger: ${ctx.headers.name} ${String(orderId)} (via order.*)`);
    },
    { name: 'ledger' },
  );
});
