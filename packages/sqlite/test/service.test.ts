import {
  createService,
  defineCommand,
  defineEvent,
  OutgoingMessages,
  type Service,
  systemClock,
} from '@switchyard/core';
import { commandThenPatternEvent, waitFor } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SqliteDeadLetterStore, SqliteInboxStore, SqliteOutboxStore } from '../src/index.js';
import { channelName, tempDir } from './helpers.js';

const tmp = tempDir();
const services: Service[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});
afterAll(() => tmp.cleanup());

const PlaceOrder = defineCommand('order.place', z.object({ orderId: z.string() }));
const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string() }));

// End to end through core: the transport is built from a sqlite: URL by core's lazy import.
describe('services over a sqlite: URL', () => {
  it('a command reaches its service, whose event reaches a pattern subscriber', async () => {
    const url = `sqlite:${tmp.file()}`;
    const orders = channelName('orders');
    const shipping = channelName('shipping');
    const { handled, shipped } = await commandThenPatternEvent(url, { orders, shipping });
    expect(handled).toEqual(['o-1']);
    expect(shipped).toEqual(['o-1']);
  });

  it('dead letters land in SqliteDeadLetterStore after the retries, with the inbox on SQLite too', async () => {
    const path = tmp.file();
    const deadLetters = new SqliteDeadLetterStore(path);
    const inbox = new SqliteInboxStore(path);
    const name = channelName('failing');
    let attempts = 0;
    const service = createService({
      name,
      transport: `sqlite:${path}`,
      handleSignals: false,
      deadLetters,
      inbox,
      retry: { instantRetries: 1, delayedRetries: 1, initialDelayMs: 50, jitter: 0 },
    });
    service.handle(
      PlaceOrder,
      async () => {
        attempts++;
        throw new Error('always fails');
      },
      { distributed: true },
    );
    services.push(service);
    await service.start();
    await service.distributedBus.sendCommand(name, PlaceOrder, { orderId: 'o-2' });
    await expect.poll(() => deadLetters.list({ service: name }), { timeout: 10_000 }).toHaveLength(1);
    const records = await deadLetters.list({ service: name });
    expect(records).toHaveLength(1);
    expect(records[0]!.messageName).toBe('order.place');
    expect(records[0]!.reason.message).toMatch(/always fails/);
    expect(attempts).toBe(4);
    await deadLetters.close();
    await inbox.close();
  });

  it("the outbox commits with the application's transaction and the relay forwards it", async () => {
    const path = tmp.file();
    const db = new Database(path);
    db.exec('CREATE TABLE orders (id TEXT PRIMARY KEY)');
    const outbox = new SqliteOutboxStore(db);
    const publisherName = channelName('orders');
    const subscriberName = channelName('billing');
    const billed: string[] = [];
    const subscriber = createService({ name: subscriberName, transport: `sqlite:${path}`, handleSignals: false });
    subscriber.handle(
      OrderPlaced,
      (event) => {
        billed.push(event.orderId);
      },
      { distributed: true },
    );
    const publisher = createService({
      name: publisherName,
      transport: `sqlite:${path}`,
      handleSignals: false,
      outbox,
      outboxRelay: { pollIntervalMs: 20 },
    });
    services.push(subscriber, publisher);
    await subscriber.start();
    await publisher.start();
    const outgoing = new OutgoingMessages(publisherName, systemClock);
    const placeOrder = db.transaction(
      (id: string, outbound: Awaited<ReturnType<typeof outgoing.build>>, fail: boolean) => {
        db.prepare('INSERT INTO orders (id) VALUES (?)').run(id);
        outbox.add(outbound);
        if (fail) throw new Error('rolled back');
      },
    );
    const lost = await outgoing.build({
      kind: 'event',
      name: 'order.placed',
      payload: { orderId: 'o-lost' },
      contract: OrderPlaced,
    });
    expect(() => placeOrder('o-lost', lost, true)).toThrow('rolled back');
    const kept = await outgoing.build({
      kind: 'event',
      name: 'order.placed',
      payload: { orderId: 'o-3' },
      contract: OrderPlaced,
    });
    placeOrder('o-3', kept, false);
    await waitFor(() => billed.length === 1, 'the outboxed event at the subscriber');
    expect(billed).toEqual(['o-3']);
    await waitFor(() => db.prepare('SELECT count(*) AS n FROM sy_outbox').pluck().get() === 0, 'outbox emptied');
    await publisher.stop();
    await outbox.close();
    db.close();
  });
});
