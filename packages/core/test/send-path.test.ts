import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineEvent } from '../src/contracts/contract.js';
import { MemoryTransport } from '../src/memory/memory-transport.js';
import type { OutboundMessage } from '../src/message/outbound.js';
import { InMemoryDeadLetterStore } from '../src/resilience/memory-stores.js';
import type { OutboxRecord, OutboxStore } from '../src/resilience/stores.js';
import { createService } from '../src/service/service.js';
import type { ServiceEvents } from '../src/util/observers.js';

const Work = defineCommand('test.work', z.object({ n: z.number() }));
const Noted = defineEvent('test.noted', z.object({ n: z.number() }));

/** An outbox kept in an array, as the application's own table would keep it. */
class ArrayOutbox implements OutboxStore {
  readonly records: OutboxRecord[] = [];
  add(outbound: OutboundMessage): void {
    this.records.push({ id: String(this.records.length + 1), outbound });
  }
  async pending(limit: number): Promise<OutboxRecord[]> {
    return this.records.slice(0, limit);
  }
  async markForwarded(ids: readonly string[]): Promise<void> {
    for (const id of ids)
      this.records.splice(
        this.records.findIndex((record) => record.id === id),
        1,
      );
  }
}

describe('one send path', () => {
  it("reports every message a service puts on a transport as 'sent', with its origin", async () => {
    const outbox = new ArrayOutbox();
    const deadLetters = new InMemoryDeadLetterStore();
    const service = createService({
      name: 'send-path',
      transport: 'memory://send-path',
      handleSignals: false,
      outbox,
      deadLetters,
      retry: { instantRetries: 0, delayedRetries: 1, initialDelayMs: 1, jitter: 0 },
    });
    const sent: ServiceEvents['sent'][] = [];
    service.on('sent', (event) => sent.push(event));
    let failures = 2;
    service.handle(
      Work,
      () => {
        if (failures-- > 0) throw new Error('not yet');
      },
      { distributed: true },
    );
    service.handle(Noted, () => undefined, { asynchronous: 'later' });
    await service.start();

    await service.distributedBus.sendCommand('send-path', Work, { n: 1 }); // send, then retry, then dead letter
    await expect.poll(() => deadLetters.count(), { timeout: 5_000 }).toBe(1);
    const [record] = await deadLetters.list();
    await service.replayDeadLetter(record?.id ?? ''); // replay
    await service.localBus.publishEvent(Noted, { n: 2 }); // enqueue for the asynchronous handler
    outbox.add(await service.distributedBus.prepareEvent(Noted, { n: 3 }));
    await service.flushOutbox(); // outbox
    await service.whenIdle();

    expect(sent.map((event) => event.origin)).toEqual(['send', 'retry', 'replay', 'enqueue', 'outbox']);
    expect(sent[1]?.outbound.destination).toEqual({ kind: 'send', service: 'send-path' });
    expect(sent[1]?.outbound.message.id).toBe(sent[0]?.outbound.message.id);
    await service.stop();
  });

  it('validates synchronously and asynchronously before sending; bad calls reject instead of throwing', async () => {
    const service = createService({ name: 'send-check', transport: 'memory://send-check', handleSignals: false });
    const Later = defineCommand(
      'test.later',
      z.object({ n: z.number() }).refine(async (value) => value.n > 0, 'n must be positive'),
    );
    const sent: ServiceEvents['sent'][] = [];
    service.on('sent', (event) => sent.push(event));
    await service.start();
    const bus = service.distributedBus;
    await bus.sendCommand('elsewhere', Later, { n: 1 });
    await expect(bus.sendCommand('elsewhere', Later, { n: -1 })).rejects.toMatchObject({ code: 'SY_VALIDATION' });
    await expect(bus.sendCommand('elsewhere', Work, { n: 'x' } as never)).rejects.toMatchObject({
      code: 'SY_VALIDATION',
    });
    // A bad target is a rejection of the returned promise, not a synchronous throw.
    const bad = bus.sendCommand('', Work, { n: 1 });
    await expect(bad).rejects.toMatchObject({ code: 'SY_CONFIGURATION' });
    await expect(bus.prepareEvent(Noted, { n: 'x' } as never)).rejects.toMatchObject({ code: 'SY_VALIDATION' });
    expect(sent.map((event) => event.outbound.message.headers['ce-type'])).toEqual(['test.later']);
    await service.stop();
  });

  it('a send to a routed service rejects when its transport rejects or throws, and reports nothing then', async () => {
    class ThrowingOnce extends MemoryTransport {
      throwNext = false;
      override send(channel: string, messages: Parameters<MemoryTransport['send']>[1]): Promise<void> {
        if (this.throwNext) {
          this.throwNext = false;
          throw new Error('thrown by send');
        }
        return super.send(channel, messages);
      }
    }
    const transport = new ThrowingOnce();
    const service = createService({ name: 'send-fail', transport, handleSignals: false });
    await service.start();
    const bus = service.distributedBus;
    await bus.sendCommand('elsewhere', Work, { n: 1 }); // routes 'elsewhere': later sends take the hot path
    const sent: ServiceEvents['sent'][] = [];
    service.on('sent', (event) => sent.push(event));
    transport.failSends(1);
    await expect(bus.sendCommand('elsewhere', Work, { n: 2 })).rejects.toMatchObject({ code: 'SY_SEND_FAILED' });
    transport.throwNext = true;
    const thrown = bus.sendCommand('elsewhere', Work, { n: 3 });
    await expect(thrown).rejects.toThrow('thrown by send');
    await bus.sendCommand('elsewhere', Work, { n: 4 });
    expect(sent.map((event) => new TextDecoder().decode(event.outbound.message.body))).toEqual(['{"n":4}']);
    await service.stop();
    await transport.close();
  });
});
