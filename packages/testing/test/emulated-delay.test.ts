import { createService, defineCommand } from '@switchyard/core';
import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import type { Transport, TransportCapabilities, TransportMessage } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock, MessageSpy } from '../src/index.js';

const Job = defineCommand('job.run', z.object({ n: z.number() }));

/** A transport without native delay: it delivers every message at once, whatever its due time. */
function withoutNativeDelay(inner: MemoryTransport): Transport {
  const capabilities: TransportCapabilities = { ...inner.capabilities, delayedDelivery: 'emulated' };
  const strip = (messages: readonly TransportMessage[]) => messages.map(({ deliverAt: _due, ...rest }) => rest);
  return {
    name: 'no-delay',
    capabilities,
    provision: (topology) => inner.provision(topology),
    send: (channel, messages) => inner.send(channel, strip(messages)),
    publish: (messages) => inner.publish(messages.map(({ deliverAt: _due, ...rest }) => rest)),
    consume: (channel, handler, options) => inner.consume(channel, handler, options),
    ping: () => inner.ping(),
    deadLetterStore: (service) => inner.deadLetterStore(service),
    close: () => inner.close(),
  };
}

describe('delay emulation in core', () => {
  it('holds an early delivery unsettled until due when the transport has no native delay', async () => {
    const clock = new ManualClock();
    const inner = new MemoryTransport({ broker: new MemoryBroker({ clock }) });
    const service = createService({
      name: 'jobs',
      transport: withoutNativeDelay(inner),
      clock,
      handleSignals: false,
      retry: { instantRetries: 0, delayedRetries: 1, initialDelayMs: 10_000, jitter: 0 },
    });
    const spy = new MessageSpy().watch(service);
    let calls = 0;
    service.handle(
      Job,
      () => {
        if (++calls === 1) throw new Error('first run fails');
      },
      { distributed: true },
    );
    await service.start();
    try {
      await service.distributedBus.sendCommand('jobs', Job, { n: 1 }, { delayMs: 5_000 });
      await clock.advance(4_999);
      expect(calls).toBe(0);
      await clock.advance(1);
      await spy.until(() => spy.retried.length === 1);
      expect(calls).toBe(1);
      await clock.advance(9_999);
      expect(calls).toBe(1);
      await clock.advance(1);
      await spy.until(() => spy.handled.length === 1);
      expect(calls).toBe(2);
    } finally {
      await service.stop();
    }
  });
});
