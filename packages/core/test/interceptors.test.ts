import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineEvent } from '../src/contracts/contract.js';
import { ErrorCode, SendRejectedError } from '../src/errors.js';
import type { HandleContext } from '../src/interceptors/types.js';
import type { MessageHeaders } from '../src/message/envelope.js';
import { InMemoryDeadLetterStore } from '../src/resilience/memory-stores.js';
import { createService } from '../src/service/service.js';

const Order = defineCommand('icpt.order', z.object({ id: z.string() }));
const Ordered = defineEvent('icpt.ordered', z.object({ id: z.string() }));

describe('interceptors (service.use)', () => {
  it('a header added on send arrives in the handler and is carried on to its follow-up event', async () => {
    const service = createService({ name: 'icpt-a', transport: 'memory://icpt-a', handleSignals: false });
    const seen: Array<{ origin: string; name: string }> = [];
    service.use({
      name: 'tenant',
      send: (context, next) => {
        seen.push({ origin: context.origin, name: context.name });
        context.metadata.tenant ??= 'acme';
        return next();
      },
    });
    service.use({
      send: async (context, next) => {
        context.metadata.order = String(seen.length); // runs after the first one: sees its change
        await next();
      },
    });
    const received: MessageHeaders[] = [];
    service.handle(
      Order,
      (command, ctx) => {
        received.push(ctx.headers);
        return ctx.publishEvent(Ordered, command, { metadata: { step: 'two' } });
      },
      { distributed: true },
    );
    service.handle(Ordered, (_event, ctx) => void received.push(ctx.headers), { distributed: true });
    await service.start();
    try {
      await service.distributedBus.sendCommand('icpt-a', Order, { id: '1' }, { metadata: { user: 'u1' } });
      await expect.poll(() => received.length, { timeout: 5_000 }).toBe(2);
      expect(received[0]?.metadata).toEqual({ user: 'u1', tenant: 'acme', order: '1' });
      // Carried on from the handled message (user, tenant), own metadata added (step), interceptors ran again.
      expect(received[1]?.metadata).toEqual({ user: 'u1', tenant: 'acme', order: '2', step: 'two' });
      expect(seen).toEqual([
        { origin: 'send', name: 'icpt.order' },
        { origin: 'send', name: 'icpt.ordered' },
      ]);
    } finally {
      await service.stop();
    }
  });

  it('metadata propagation is configurable per key', async () => {
    const service = createService({
      name: 'icpt-p',
      transport: 'memory://icpt-p',
      handleSignals: false,
      propagateMetadata: { except: ['secret'] },
    });
    const received: MessageHeaders[] = [];
    service.handle(Order, (command, ctx) => ctx.publishEvent(Ordered, command), { distributed: true });
    service.handle(Ordered, (_event, ctx) => void received.push(ctx.headers), { distributed: true });
    await service.start();
    try {
      await service.distributedBus.sendCommand('icpt-p', Order, { id: '1' }, { metadata: { secret: 's', keep: 'k' } });
      await expect.poll(() => received.length, { timeout: 5_000 }).toBe(1);
      expect(received[0]?.metadata).toEqual({ keep: 'k' });
    } finally {
      await service.stop();
    }
    expect(() => createService({ name: 'x', transport: 'memory://x', propagateMetadata: 'no' as never })).toThrow(
      /propagateMetadata/,
    );
  });

  it('a rejecting send interceptor prevents the send with a typed error', async () => {
    const service = createService({ name: 'icpt-r', transport: 'memory://icpt-r', handleSignals: false });
    const sent: string[] = [];
    service.on('sent', ({ outbound }) => sent.push(outbound.message.id));
    service.use({
      name: 'authz',
      send: (context, next) => {
        if (!context.metadata.token) throw new Error('no token');
        return next();
      },
    });
    service.use({ send: (context, next) => (context.metadata.skip ? undefined : next()) });
    let handled = 0;
    service.handle(Order, () => void handled++, { distributed: true });
    await service.start();
    try {
      const refused = service.distributedBus.sendCommand('icpt-r', Order, { id: '1' });
      await expect(refused).rejects.toBeInstanceOf(SendRejectedError);
      await expect(refused).rejects.toMatchObject({
        code: ErrorCode.SendRejected,
        message: expect.stringContaining('authz'),
        cause: expect.objectContaining({ message: 'no token' }),
      });
      await expect(
        service.distributedBus.sendCommand('icpt-r', Order, { id: '2' }, { metadata: { token: 't', skip: '1' } }),
      ).rejects.toMatchObject({ code: ErrorCode.SendRejected, message: expect.stringContaining('did not call next') });
      await expect(
        service.distributedBus.sendCommand('icpt-r', Order, { id: '3' }, { metadata: { token: 't' } }),
      ).resolves.toBeUndefined();
      await expect.poll(() => handled, { timeout: 5_000 }).toBe(1);
      expect(sent).toHaveLength(1);
    } finally {
      await service.stop();
    }
  });

  it('a handle interceptor wraps every invocation, retries in place and delayed retries included', async () => {
    const deadLetters = new InMemoryDeadLetterStore();
    const service = createService({
      name: 'icpt-h',
      transport: 'memory://icpt-h',
      handleSignals: false,
      deadLetters,
      retry: { instantRetries: 1, delayedRetries: 1, initialDelayMs: 1, jitter: 0 },
    });
    const log: string[] = [];
    const origins: string[] = [];
    service.use({
      send: (context, next) => {
        origins.push(context.origin);
        return next();
      },
    });
    service.use({
      name: 'transaction',
      handle: async (context: HandleContext, next) => {
        log.push(`begin ${context.attempt}.${context.instantRetry}`);
        try {
          await next();
          log.push('commit');
        } catch (error) {
          log.push(`rollback ${(error as Error).message}`);
          throw error;
        }
      },
    });
    service.use({
      handle: (context, next) => {
        log.push(`inner ${context.handler}`);
        return next();
      },
    });
    let calls = 0;
    service.handle(
      Order,
      () => {
        calls++;
        if (calls < 4) throw new Error(`fail ${calls}`);
      },
      { distributed: true },
    );
    await service.start();
    try {
      await service.distributedBus.sendCommand('icpt-h', Order, { id: '1' });
      await expect.poll(() => log.at(-1), { timeout: 5_000 }).toBe('commit');
      expect(log).toEqual([
        'begin 1.0',
        'inner icpt.order',
        'rollback fail 1',
        'begin 1.1',
        'inner icpt.order',
        'rollback fail 2',
        'begin 2.0',
        'inner icpt.order',
        'rollback fail 3',
        'begin 2.1',
        'inner icpt.order',
        'commit',
      ]);
      expect(await deadLetters.count()).toBe(0);
      // The delayed retry's re-send went through the send interceptors too.
      expect(origins).toEqual(['send', 'retry']);
      expect(() => service.use({ send: (_c, next) => next() })).toThrow(/before start/);
    } finally {
      await service.stop();
    }
  });

  it('a handle interceptor that throws fails the run like the handler would', async () => {
    const deadLetters = new InMemoryDeadLetterStore();
    const service = createService({
      name: 'icpt-d',
      transport: 'memory://icpt-d',
      handleSignals: false,
      deadLetters,
      retry: { instantRetries: 0, delayedRetries: 0 },
    });
    let handled = 0;
    service.use({
      handle: () => {
        throw new Error('forbidden');
      },
    });
    service.handle(Order, () => void handled++, { distributed: true });
    await service.start();
    try {
      await service.distributedBus.sendCommand('icpt-d', Order, { id: '1' });
      await expect.poll(() => deadLetters.count(), { timeout: 5_000 }).toBe(1);
      expect(handled).toBe(0);
    } finally {
      await service.stop();
    }
  });
});
