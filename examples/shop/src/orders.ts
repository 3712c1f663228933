import type { InputOf } from '@switchyard/core';
import type { PlaceOrder } from './contracts.js';

/** An order the storefront places. */
export type Order = InputOf<typeof PlaceOrder>;

const SKUS = ['apple', 'pear', 'plum', 'fig'] as const;

/**
 * The run's orders, the same every run: `o-1` … `o-<count>`. Every fifth
 * order from `o-3` goes to a customer whose mail server times out twice
 * (recovered by delayed retries); `o-13` (or the last order, when there are
 * fewer) has an address no retry can fix (dead-lettered).
 */
export function makeOrders(count: number): Order[] {
  const poison = Math.min(13, count);
  const orders: Order[] = [];
  for (let i = 1; i <= count; i++) {
    const sku = SKUS[i % SKUS.length] ?? 'apple';
    const second = SKUS[(i + 1) % SKUS.length] ?? 'pear';
    const items =
      i % 2 === 0
        ? [{ sku, quantity: 1 + (i % 3) }]
        : [
            { sku, quantity: 1 + (i % 3) },
            { sku: second, quantity: 1 },
          ];
    let email = `customer${i}@shop.example`;
    if (i === poison) email = `customer${i}@`;
    else if (i % 5 === 3) email = `customer${i}@slow-mail.example`;
    orders.push({ orderId: `o-${i}`, email, items });
  }
  return orders;
}
