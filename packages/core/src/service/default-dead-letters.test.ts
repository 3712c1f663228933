import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand } from '../contracts/contract.js';
import { MemoryBroker, MemoryTransport } from '../memory/index.js';
import { InMemoryDeadLetterStore } from '../resilience/memory-stores.js';
import type { DeadLetterRecord, DeadLetterStore } from '../resilience/stores.js';
import type { Transport } from '../transport/types.js';
import { createService } from './service.js';

const Ping = defineCommand('test.ping', z.object({ n: z.number() }));
const Unknown = defineCommand('test.unknown', z.object({ n: z.number() }));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A memory transport without the dead-letter hook, as a third-party transport may be. */
function withoutHook(transport: MemoryTransport): Transport {
  return {
    name: 'hookless',
    capabilities: transport.capabilities,
    provision: (topology) => transport.provision(topology),
    send: (channel, messages) => transport.send(channel, messages),
    publish: (messages) => transport.publish(messages),
    consume: (channel, handler, options) => transport.consume(channel, handler, options),
    ping: () => transport.ping(),
    close: () => transport.close(),
  };
}

describe('default dead-letter store', () => {
  it("is the transport's store: on memory:// the broker's in-memory store, shared by every transport of that broker", async () => {
    const broker = new MemoryBroker();
    const service = createService({
      name: 'orders',
      transport: new MemoryTransport({ broker }),
      handleSignals: false,
      logger: quiet,
    });
    service.handle(Ping, () => undefined, { distributed: true });
    await service.start();
    try {
      await service.distributedBus.sendCommand('orders', Unknown, { n: 1 });
      await expect.poll(() => service.deadLetters.count()).toBe(1);
      const again = new MemoryTransport({ broker }).deadLetterStore('orders');
      const [record] = await again.list();
      expect(record?.reason.code).toBe('SY_NO_HANDLER');
    } finally {
      await service.stop();
    }
  });

  it('a transport instance without the hook and no deadLetters option: ConfigurationError at construction', () => {
    const transport = withoutHook(new MemoryTransport());
    expect(() => createService({ name: 'orders', transport, handleSignals: false })).toThrow(
      /offers no durable dead-letter store: pass deadLetters/,
    );
    expect(() =>
      createService({ name: 'orders', transport, deadLetters: new InMemoryDeadLetterStore(), handleSignals: false }),
    ).not.toThrow();
  });

  it('an explicit store wins over the transport', async () => {
    const explicit = new InMemoryDeadLetterStore();
    const service = createService({
      name: 'orders',
      transport: new MemoryTransport(),
      deadLetters: explicit,
      handleSignals: false,
      logger: quiet,
    });
    expect(service.deadLetters).toBe(explicit);
  });

  it('messages nobody handles (SY_NO_HANDLER) and misaddressed ones (SY_MISADDRESSED) go to the same store with their code', async () => {
    const broker = new MemoryBroker();
    const orders = createService({
      name: 'orders',
      transport: new MemoryTransport({ broker }),
      handleSignals: false,
      logger: quiet,
    });
    orders.handle(Ping, () => undefined, { distributed: true });
    // The sender's service map puts 'billing' on the orders channel: a wrong map, as happens.
    const sender = createService({
      name: 'sender',
      transport: new MemoryTransport({ broker }),
      services: { billing: { channel: 'orders' } },
      handleSignals: false,
      logger: quiet,
    });
    await orders.start();
    try {
      await sender.distributedBus.sendCommand('orders', Unknown, { n: 1 });
      await sender.distributedBus.sendCommand('billing', Ping, { n: 2 });
      await expect.poll(() => orders.deadLetters.count()).toBe(2);
      const codes = (await orders.deadLetters.list()).map((record) => record.reason.code).sort();
      expect(codes).toEqual(['SY_MISADDRESSED', 'SY_NO_HANDLER']);
    } finally {
      await orders.stop();
    }
  });

  it('a dead letter that cannot be stored is not acked: the message comes back, is logged, and is dead-lettered once after recovery', async () => {
    const inner = new InMemoryDeadLetterStore();
    let refusals = 2;
    const flaky: DeadLetterStore = {
      add: async (record: DeadLetterRecord) => {
        if (refusals > 0) {
          refusals--;
          throw new Error('store unavailable');
        }
        await inner.add(record);
      },
      list: (filter) => inner.list(filter),
      count: (filter) => inner.count(filter),
      get: (id) => inner.get(id),
      delete: (id) => inner.delete(id),
    };
    const logged: string[] = [];
    const service = createService({
      name: 'orders',
      transport: new MemoryTransport(),
      deadLetters: flaky,
      retry: { instantRetries: 0, delayedRetries: 0 },
      handleSignals: false,
      logger: { ...quiet, error: (object: object) => logged.push(String((object as { err?: Error }).err?.message)) },
    });
    let attempts = 0;
    service.handle(
      Ping,
      () => {
        attempts++;
        throw new Error('poison');
      },
      { distributed: true },
    );
    let deadLettered = 0;
    service.on('deadLettered', () => deadLettered++);
    await service.start();
    try {
      await service.distributedBus.sendCommand('orders', Ping, { n: 1 });
      await expect.poll(() => deadLettered, { timeout: 10_000 }).toBe(1);
      await service.whenIdle();
      expect(attempts).toBe(3);
      expect(await inner.count()).toBe(1);
      expect(logged).toHaveLength(2);
      expect(logged[0]).toMatch(/could not be stored durably, so the message stays on the broker.*store unavailable/);
    } finally {
      await service.stop();
    }
  });
});
