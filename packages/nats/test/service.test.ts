import { randomBytes } from 'node:crypto';
import { createService, defineCommand, defineEvent, type Service } from '@switchyard/core';
import { brokerReachable, commandThenPatternEvent, waitFor } from '@switchyard/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { NatsTransport } from '../src/index.js';
import { deleteStreams, NATS_URL, probeNats, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`NATS at ${NATS_URL}`, probeNats);
const prefix = uniquePrefix('svc');
const url = `${NATS_URL}?prefix=${prefix}&ackWaitMs=5000`;
const running: Service[] = [];
const transports: NatsTransport[] = [];
const unique = (label: string) => `${label}-${randomBytes(3).toString('hex')}`;

afterEach(async () => {
  await Promise.allSettled(running.splice(0).map((service) => service.stop()));
  await Promise.allSettled(transports.splice(0).map((transport) => transport.close()));
});

afterAll(async () => {
  if (reachable) await deleteStreams(prefix);
});

// End to end through core: the transport is built from a nats:// URL by core's lazy import.
describe.runIf(reachable)('services over a nats:// URL', () => {
  it('a command reaches its service, whose event reaches a pattern subscriber', async () => {
    const { handled, shipped } = await commandThenPatternEvent(url, {
      orders: unique('orders'),
      shipping: unique('shipping'),
    });
    expect(handled).toEqual(['o-1']);
    expect(shipped).toEqual(['o-1']);
  });

  it("a command reaches only the named service; events fan out by pattern, '#' matching zero segments too", async () => {
    const ns = `ns${randomBytes(3).toString('hex')}`;
    const Ship = defineCommand(`${ns}.ship`, z.object({ id: z.string() }));
    const events = [`${ns}.order`, `${ns}.order.placed`, `${ns}.order.item.added`, `${ns}.payment.placed`];
    const seen: Record<string, string[]> = { shipper: [], audit: [], placed: [], billing: [], bystander: [] };
    const start = async (role: string, setup: (service: Service) => void) => {
      const service = createService({ name: unique(role), transport: url, handleSignals: false });
      setup(service);
      running.push(service);
      await service.start();
      return service;
    };
    const shipper = await start('shipper', (s) =>
      s.handle(Ship, (command) => void seen.shipper?.push(command.id), { distributed: true }),
    );
    const subscriber = (role: string, pattern: string) =>
      start(role, (s) =>
        s.handle(pattern, (_event, ctx) => void seen[role]?.push(ctx.headers.name), { distributed: true }),
      );
    await subscriber('audit', `${ns}.order.#`);
    await subscriber('placed', `${ns}.*.placed`);
    await subscriber('billing', `${ns}.payment.*`);
    const bystander = await subscriber('bystander', `${ns}.shipping.*`);
    await bystander.distributedBus.sendCommand(shipper.name, Ship, { id: 's-1' });
    for (const name of events) await bystander.distributedBus.publishEvent(defineEvent(name, z.object({})), {});
    await waitFor(
      () =>
        seen.shipper?.length === 1 &&
        seen.audit?.length === 3 &&
        seen.placed?.length === 2 &&
        seen.billing?.length === 1,
      () => `deliveries ${JSON.stringify(seen)}`,
    );
    // A late barrier for the bystander's own pattern: anything misrouted would have arrived before it.
    await bystander.distributedBus.publishEvent(defineEvent(`${ns}.shipping.done`, z.object({})), {});
    await waitFor(() => seen.bystander?.length === 1, 'the barrier');
    expect(seen.shipper).toEqual(['s-1']);
    expect(seen.audit?.sort()).toEqual([`${ns}.order`, `${ns}.order.item.added`, `${ns}.order.placed`]);
    expect(seen.placed?.sort()).toEqual([`${ns}.order.placed`, `${ns}.payment.placed`]);
    expect(seen.billing).toEqual([`${ns}.payment.placed`]);
    expect(seen.bystander).toEqual([`${ns}.shipping.done`]);
  });

  it("dead letters go to the transport's durable store by default and outlive the process", async () => {
    const Fail = defineCommand(`${unique('fail')}.now`, z.object({ id: z.string() }));
    const transport = new NatsTransport({ url: NATS_URL, prefix });
    transports.push(transport);
    const name = unique('failing');
    const service = createService({
      name,
      transport,
      retry: { instantRetries: 0, delayedRetries: 1, initialDelayMs: 50, jitter: 0 },
      handleSignals: false,
    });
    service.handle(
      Fail,
      () => {
        throw new Error('always fails');
      },
      { distributed: true },
    );
    running.push(service);
    await service.start();
    await service.distributedBus.sendCommand(name, Fail, { id: 'f-1' });
    const other = new NatsTransport({ url: NATS_URL, prefix });
    transports.push(other);
    const store = other.deadLetterStore(name);
    // Polls the store (read by another connection, as the CLI would) until the record is there.
    let records = await store.list();
    for (const deadline = Date.now() + 15_000; records.length === 0 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      records = await store.list();
    }
    expect(records).toHaveLength(1);
    expect(records[0]?.reason.message).toMatch(/always fails/);
    expect(records[0]?.attempts).toBe(2);
    expect(records[0]?.messageName).toBe(Fail.name);
  });
});
