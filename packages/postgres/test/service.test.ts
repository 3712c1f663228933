import { randomUUID } from 'node:crypto';
import {
  createService,
  defineCommand,
  defineEvent,
  ErrorCode,
  InMemoryDeadLetterStore,
  type Service,
} from '@switchyard/core';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);

const PlaceOrder = defineCommand('order.place', z.object({ orderId: z.string() }));
const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string() }));

describe.runIf(reachable)('services over a postgres:// URL', () => {
  const pool = testPool();
  const schemas: string[] = [];
  const services: Service[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await dropSchemas(pool, schemas);
    await pool.end();
  });
  const urlFor = (schema: string) => {
    schemas.push(schema);
    return `${POSTGRES_URL}?schema=${schema}&application_name=sy-service-test`;
  };

  it('a command reaches its service, whose event reaches a pattern subscriber; tables live in ?schema=', async () => {
    const schema = uniqueSchema('url');
    const url = urlFor(schema);
    const names = { orders: `orders-${randomUUID()}`, shipping: `shipping-${randomUUID()}` };
    // Dead letters in memory on purpose: the transport offers no durable store of its own yet.
    const deadLetters = new InMemoryDeadLetterStore();
    const handled: string[] = [];
    const shipped: string[] = [];
    const orders = createService({ name: names.orders, transport: url, handleSignals: false, deadLetters });
    orders.handle(
      PlaceOrder,
      async (command, ctx) => {
        handled.push(command.orderId);
        await ctx.publishEvent(OrderPlaced, { orderId: command.orderId });
      },
      { distributed: true },
    );
    const shipping = createService({ name: names.shipping, transport: url, handleSignals: false, deadLetters });
    shipping.handle('order.*', (event) => void shipped.push((event as { orderId: string }).orderId), {
      distributed: true,
    });
    services.push(orders, shipping);
    await orders.start();
    await shipping.start();
    await shipping.distributedBus.sendCommand(names.orders, PlaceOrder, { orderId: 'o-1' });
    await waitFor(() => shipped.length === 1, 'the event at the shipping service');
    expect(handled).toEqual(['o-1']);
    expect(shipped).toEqual(['o-1']);
    const tables = await pool.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [
      schema,
    ]);
    expect(tables.rows.map((row) => row.table_name).sort()).toEqual([
      'sy_messages',
      'sy_migrations',
      'sy_reply_channels',
      'sy_subscriptions',
    ]);
    const subscriptions = await pool.query(`SELECT channel, pattern FROM "${schema}".sy_subscriptions`);
    expect(subscriptions.rows).toContainEqual({ channel: names.shipping, pattern: 'order.*' });
  });

  it('a service without deadLetters keeps its dead letters in the PostgreSQL store of the transport', async () => {
    const schema = uniqueSchema('dlq');
    const name = `failing-${randomUUID()}`;
    const service = createService({
      name,
      transport: urlFor(schema),
      handleSignals: false,
      retry: { instantRetries: 0, delayedRetries: 0 },
    });
    service.handle(
      PlaceOrder,
      () => {
        throw new Error('always fails');
      },
      { distributed: true },
    );
    services.push(service);
    await service.start();
    await service.distributedBus.sendCommand(name, PlaceOrder, { orderId: 'o-9' });
    await expect
      .poll(async () => {
        const rows = await pool.query(`SELECT service FROM "${schema}".sy_dead_letters`).catch(() => ({ rows: [] }));
        return rows.rows.map((row) => row.service);
      })
      .toEqual([name]);
  });

  it('rows inserted by hand with a non-JSON body or garbage headers are dead-lettered with their code; the consumer keeps going', async () => {
    const schema = uniqueSchema('bad');
    const url = urlFor(schema);
    const name = `orders-${randomUUID()}`;
    const deadLetters = new InMemoryDeadLetterStore();
    const handled: string[] = [];
    const service = createService({ name, transport: url, handleSignals: false, deadLetters });
    service.handle(PlaceOrder, (command) => void handled.push(command.orderId), { distributed: true });
    services.push(service);
    await service.start();
    // A real command's headers, parked on a channel nobody consumes, to copy from.
    const parked = `parked-${randomUUID()}`;
    const sender = createService({ name: `sender-${randomUUID()}`, transport: url, handleSignals: false, deadLetters });
    services.push(sender);
    await sender.start();
    await sender.distributedBus.sendCommand(name, PlaceOrder, { orderId: 'template' });
    await waitFor(() => handled.length === 1, 'the template command');
    const t = `"${schema}".sy_messages`;
    await pool.query(`INSERT INTO ${t} (channel, id, headers, body) VALUES ($1, 'tpl', $2, '\\x7b7d')`, [
      parked,
      JSON.stringify({
        'ce-specversion': '1.0',
        'ce-id': 'tpl',
        'ce-type': 'order.place',
        'ce-source': 'by-hand',
        'ce-time': new Date().toISOString(),
        'ce-kind': 'command',
        'ce-targetservice': name,
        'content-type': 'application/json',
      }),
    ]);
    // Non-JSON body under valid headers; headers that are not JSON; headers JSON but not strings.
    await pool.query(
      `INSERT INTO ${t} (channel, id, headers, body)
       SELECT $1, 'bad-body', replace(headers, '"tpl"', '"bad-body"'), convert_to('{not json', 'UTF8') FROM ${t} WHERE channel = $2`,
      [name, parked],
    );
    await pool.query(
      `INSERT INTO ${t} (channel, id, headers, body) VALUES ($1, 'bad-headers', 'garbage{', '\\x00ff')`,
      [name],
    );
    await pool.query(
      `INSERT INTO ${t} (channel, id, headers, body) VALUES ($1, 'odd-headers', '{"ce-id": 5, "ce-type": ["x"]}', '\\x7b7d')`,
      [name],
    );
    await sender.distributedBus.sendCommand(name, PlaceOrder, { orderId: 'after' });
    await waitFor(() => handled.includes('after'), 'the command sent after the bad rows');
    await expect.poll(() => deadLetters.count({ service: name }), { timeout: 10_000 }).toBe(3);
    const records = await deadLetters.list({ service: name });
    const byId = new Map(records.map((record) => [record.message.id, record]));
    expect(byId.get('bad-body')?.reason.code).toBe(ErrorCode.Decode);
    expect(byId.get('bad-headers')?.reason.code).toBe(ErrorCode.Decode);
    expect(byId.get('odd-headers')?.reason.code).toBe(ErrorCode.Decode);
    expect(new TextDecoder().decode(byId.get('bad-body')?.message.body)).toBe('{not json');
    // Dead-lettered rows are acked like any other: the channel empties.
    await expect
      .poll(async () => (await pool.query(`SELECT count(*)::int AS n FROM ${t} WHERE channel = $1`, [name])).rows[0].n)
      .toBe(0);
  });
});
