import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/ledger.js';

function shop(): Ledger {
  const ledger = new Ledger();
  ledger.ready('order-service', [{ id: 'place-order', pattern: 'order.place', kind: 'command' }]);
  ledger.ready('inventory-service', [{ id: 'ledger', pattern: 'order.*', kind: 'event' }]);
  ledger.ready('notification-service', [
    { id: 'email', pattern: 'order.placed', kind: 'event' },
    { id: 'timeline', pattern: 'order.#', kind: 'event' },
  ]);
  return ledger;
}

describe('Ledger', () => {
  it('expects the target command handler, and every matching event handler of every service', () => {
    const ledger = shop();
    expect(ledger.expectedHandlers({ id: '1', name: 'order.place', kind: 'command', target: 'order-service' })).toEqual(
      ['order-service/place-order'],
    );
    expect(ledger.expectedHandlers({ id: '2', name: 'order.placed', kind: 'event' }).sort()).toEqual([
      'inventory-service/ledger',
      'notification-service/email',
      'notification-service/timeline',
    ]);
    expect(ledger.expectedHandlers({ id: '3', name: 'order.placed.late', kind: 'event' })).toEqual([
      'notification-service/timeline',
    ]);
    expect(ledger.expectedHandlers({ id: '4', name: 'x.y', kind: 'command', target: 'nobody' })).toEqual(['nobody/*']);
  });

  it('counts a message as lost until every expected handler handled or dead-lettered it', () => {
    const ledger = shop();
    ledger.handled('notification-service', 'email', 'e1'); // may arrive before the sender's report
    ledger.sent({ id: 'e1', name: 'order.placed', kind: 'event' });
    expect(ledger.totals().lost).toBe(1);
    expect(ledger.settled()).toBe(false);
    ledger.handled('inventory-service', 'ledger', 'e1');
    ledger.deadLettered('notification-service', 'timeline', 'e1');
    expect(ledger.missing()).toEqual([]);
    expect(ledger.settled()).toBe(true);
    expect(ledger.totals()).toEqual({ sent: 1, handled: 2, retried: 0, deadLettered: 1, lost: 0 });
  });

  it('re-evaluates open messages when a service reports its handlers late', () => {
    const ledger = new Ledger();
    ledger.sent({ id: 'e1', name: 'order.placed', kind: 'event' });
    expect(ledger.settled()).toBe(true); // nobody subscribed yet
    ledger.ready('inventory-service', [{ id: 'ledger', pattern: 'order.*', kind: 'event' }]);
    expect(ledger.settled()).toBe(false);
    ledger.handled('inventory-service', 'ledger', 'e1');
    expect(ledger.settled()).toBe(true);
  });

  it('lets a dead letter without a handler cover the whole service, and ignores ids it never saw sent', () => {
    const ledger = shop();
    ledger.sent({ id: 'c1', name: 'order.place', kind: 'command', target: 'order-service' });
    ledger.deadLettered('order-service', undefined, 'c1');
    ledger.handled('order-service', 'place-order', 'stale');
    expect(ledger.totals().lost).toBe(0);
    expect(ledger.strangers()).toBe(1);
    expect(ledger.totals(2).lost).toBe(2);
  });
});
