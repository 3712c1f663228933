import { ErrorCode, type HandlerContext } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createFlow, type Flow } from '../src/index.js';
import { OrderPlaced, OrderShipped, PlaceOrder, ReserveStock } from './shop-contracts.js';

/**
 * Three services in one process on the in-memory transport: a command to a
 * named service, events fanned out by pattern to two services, a handler that
 * recovers through delayed retries, and a poison message that is dead-lettered
 * and replayed once the handler is fixed.
 */
describe('three services end to end', () => {
  let flow: Flow;
  afterEach(() => flow?.stop());

  function build(options: { failTimes: number; poisonOrder: string }) {
    flow = createFlow();
    const fast = { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 };
    const order = flow.service({ name: 'order-service', retry: fast });
    const inventory = flow.service({ name: 'inventory-service', retry: fast });
    const notification = flow.service({
      name: 'notification-service',
      retry: { ...fast, instantRetries: 0, delayedRetries: 3 },
    });
    const state = {
      flakyCalls: 0,
      poisonFixed: false,
      notified: [] as string[],
      reserved: [] as string[],
      correlations: new Set<string>(),
    };

    order.handle(
      PlaceOrder,
      async (command, ctx: HandlerContext) => {
        state.correlations.add(ctx.headers.correlationId);
        for (const item of command.items)
          await ctx.sendCommand('inventory-service', ReserveStock, { orderId: command.orderId, sku: item.sku });
        await ctx.publishEvent(OrderPlaced, { orderId: command.orderId, total: command.items.length });
      },
      { distributed: true },
    );
    inventory.handle(
      ReserveStock,
      async (command, ctx) => {
        state.correlations.add(ctx.headers.correlationId);
        state.reserved.push(`${command.orderId}:${command.sku}`);
      },
      { distributed: true },
    );
    inventory.handle('order.*', async function auditOrders() {}, { distributed: true });
    notification.handle(
      OrderPlaced,
      async function notify(event, ctx) {
        state.correlations.add(ctx.headers.correlationId);
        if (event.orderId === 'flaky' && ++state.flakyCalls <= options.failTimes)
          throw new Error(`mail server down (${state.flakyCalls})`);
        if (event.orderId === options.poisonOrder && !state.poisonFixed)
          throw new Error('template missing for this order');
        state.notified.push(event.orderId);
      },
      { distributed: true },
    );
    notification.handle('order.#', async function countAll() {}, { distributed: true });
    return { order, inventory, notification, state };
  }

  it('routes a command to the named service and fans an event out to two services by pattern', async () => {
    const { order, state } = build({ failTimes: 0, poisonOrder: 'none' });
    await flow.start();
    await order.distributedBus.sendCommand('order-service', PlaceOrder, {
      orderId: 'o-1',
      items: [
        { sku: 'apple', quantity: 2 },
        { sku: 'pear', quantity: 1 },
      ],
    });
    await flow.spy.until(
      () => flow.spy.handledOf('order.placed').length === 3,
      'order.placed handled by notify, countAll and auditOrders',
    );
    await flow.idle();

    expect(state.reserved.sort()).toEqual(['o-1:apple', 'o-1:pear']);
    expect(flow.spy.handledOf('order.place', 'order-service')).toHaveLength(1);
    expect(flow.spy.handledOf('order.place', 'inventory-service')).toHaveLength(0);
    const placed = flow.spy
      .handledOf('order.placed')
      .map((e) => `${e.service}/${e.handler}`)
      .sort();
    expect(placed).toEqual([
      'inventory-service/auditOrders@order.*',
      'notification-service/countAll@order.#',
      'notification-service/notify@order.placed',
    ]);
    expect(state.correlations.size).toBe(1);
    const placeId = flow.spy.handledOf('order.place')[0]?.id;
    const reserve = flow.spy.handledOf('stock.reserve')[0]?.envelope?.headers;
    expect(reserve?.causationId).toBe(placeId);
    expect(reserve?.source).toBe('order-service');
  });

  it('recovers a handler that fails twice through delayed retries, without re-running the other handlers', async () => {
    const { order, state } = build({ failTimes: 2, poisonOrder: 'none' });
    await flow.start();
    await order.distributedBus.publishEvent(OrderPlaced, { orderId: 'flaky', total: 1 });
    await flow.spy.until(() => state.notified.includes('flaky'), 'the flaky handler to succeed');
    await flow.idle();

    expect(state.flakyCalls).toBe(3);
    const retries = flow.spy.retried.filter((e) => e.handler === 'notify@order.placed');
    expect(retries).toHaveLength(2);
    expect(
      flow.spy.handledOf('order.placed', 'notification-service').filter((e) => e.handler === 'countAll@order.#'),
    ).toHaveLength(1);
    const success = flow.spy.handled.find((e) => e.handler === 'notify@order.placed');
    expect(success?.envelope?.headers.attempt).toBe(3);
    expect(flow.deadLetters).toBeDefined();
    expect(await flow.deadLetters.list()).toHaveLength(0);
  });

  it('dead-letters a poison message with its reason and replays it once the handler is fixed', async () => {
    const { order, notification, state } = build({ failTimes: 0, poisonOrder: 'poison' });
    await flow.start();
    await order.distributedBus.publishEvent(OrderPlaced, { orderId: 'poison', total: 1 });
    await flow.spy.until(() => flow.spy.deadLettered.length === 1, 'the poison message in the dead letter');
    await flow.idle();

    const [record] = await flow.deadLetters.list({ service: 'notification-service' });
    expect(record?.handler).toBe('notify@order.placed');
    expect(record?.reason.code).toBe(ErrorCode.HandlerFailed);
    expect(record?.reason.message).toContain('template missing for this order');
    expect(record?.reason.stack).toContain('three-services.test.ts');
    expect(record?.attempts).toBe(4);
    expect(state.notified).not.toContain('poison');

    state.poisonFixed = true;
    await notification.replayDeadLetter(record?.id ?? '');
    await flow.spy.until(() => state.notified.includes('poison'), 'the replayed message to be handled');
    await flow.idle();
    expect(await flow.deadLetters.list()).toHaveLength(0);
    expect(flow.spy.handled.filter((e) => e.handler === 'countAll@order.#')).toHaveLength(1);
  });

  it('rejects a send whose payload breaks its contract, before anything reaches the broker', async () => {
    const { order } = build({ failTimes: 0, poisonOrder: 'none' });
    await flow.start();
    const bad = { orderId: 'o-2', items: [{ sku: 'apple', quantity: -1 }] };
    await expect(order.distributedBus.sendCommand('order-service', PlaceOrder, bad)).rejects.toMatchObject({
      code: ErrorCode.Validation,
    });
    await expect(order.distributedBus.publishEvent(OrderShipped, {} as never)).rejects.toThrow(/orderId/);
    expect(flow.spy.sent).toHaveLength(0);
  });
});
