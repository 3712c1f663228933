import { expect } from 'vitest';
import { z } from 'zod';
import { defineCommand } from '../src/contracts/contract.js';
import { ErrorCode } from '../src/errors.js';
import { InMemoryDeadLetterStore } from '../src/resilience/memory-stores.js';
import type { FinalFailure } from '../src/runtime/stages/final-failure.js';
import type { ServiceOptions } from '../src/service/options.js';
import { createService } from '../src/service/service.js';
import { otelFixture } from './otel-fixtures.js';

type TransportOf = () => Pick<ServiceOptions, 'transport' | 'transports'>;

/**
 * Strategy `discard`: a message out of retries is acked and counted, never
 * dead-lettered; the error handler hears of it; the next message is handled.
 */
export async function discardScenario(name: string, transport: TransportOf): Promise<void> {
  const otel = otelFixture();
  const Work = defineCommand(`${name}.work`, z.object({ n: z.number() }));
  const deadLetters = new InMemoryDeadLetterStore();
  const failures: FinalFailure[] = [];
  const service = createService({
    name,
    ...transport(),
    handleSignals: false,
    deadLetters,
    telemetry: otel.telemetry,
    finalFailure: 'stop', // the handler's own strategy wins
    onFinalFailure: async (failure) => {
      failures.push(failure);
    },
    retry: { instantRetries: 1, delayedRetries: 0 },
  });
  const handled: number[] = [];
  service.handle(
    Work,
    ({ n }) => {
      if (n === 1) throw new Error('droppable');
      handled.push(n);
    },
    { distributed: true, finalFailure: 'discard' },
  );
  await service.start();
  try {
    await service.distributedBus.sendCommand(name, Work, { n: 1 });
    await service.distributedBus.sendCommand(name, Work, { n: 2 });
    await expect.poll(() => handled, { timeout: 10_000 }).toEqual([2]);
    await expect.poll(() => failures.length, { timeout: 10_000 }).toBe(1);
    await service.whenIdle();
    expect(failures[0]).toMatchObject({
      strategy: 'discard',
      handler: Work.name,
      error: { code: ErrorCode.HandlerFailed },
    });
    expect(await deadLetters.count()).toBe(0);
    expect(service.consumerStopped).toBeUndefined();
    await expect.poll(() => otel.sum('switchyard.discarded'), { timeout: 5_000 }).toBe(1);
    expect(await otel.sum('messaging.client.consumed.messages', { 'switchyard.outcome': 'discarded' })).toBe(1);
  } finally {
    await service.stop();
    await otel.shutdown();
  }
}

/**
 * Strategy `stop`: the service stops consuming and reports why; the message is
 * not dead-lettered and stays on the broker with what came after it: a new
 * instance of the service (the handler fixed) handles both.
 */
export async function stopScenario(name: string, transport: TransportOf): Promise<void> {
  const Work = defineCommand(`${name}.work`, z.object({ n: z.number() }));
  const deadLetters = new InMemoryDeadLetterStore();
  const failures: FinalFailure[] = [];
  const options = {
    name,
    handleSignals: false,
    deadLetters,
    finalFailure: 'stop' as const,
    onFinalFailure: (failure: FinalFailure) => void failures.push(failure),
    retry: { instantRetries: 0, delayedRetries: 0 },
    drainTimeoutMs: 5_000,
  };
  const first = createService({ ...options, ...transport() });
  let firstCalls = 0;
  first.handle(
    Work,
    () => {
      firstCalls++;
      throw new Error('database schema is wrong');
    },
    { distributed: true },
  );
  await first.start();
  try {
    await first.distributedBus.sendCommand(name, Work, { n: 1 });
    await expect.poll(() => first.consumerStopped, { timeout: 10_000 }).toBeDefined();
    expect(first.consumerStopped?.code).toBe(ErrorCode.ConsumerStopped);
    expect(first.health()).toMatchObject({
      healthy: false,
      consuming: false,
      lastError: expect.stringContaining('stopped consuming'),
    });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.strategy).toBe('stop');
    await first.distributedBus.sendCommand(name, Work, { n: 2 });
    await first.whenIdle();
    expect(await deadLetters.count()).toBe(0);
  } finally {
    await first.stop();
  }
  expect(firstCalls).toBe(1);
  const second = createService({ ...options, ...transport() });
  const handled: number[] = [];
  second.handle(Work, ({ n }) => void handled.push(n), { distributed: true });
  await second.start();
  try {
    await expect.poll(() => [...handled].sort(), { timeout: 15_000 }).toEqual([1, 2]);
    expect(second.health()).toMatchObject({ healthy: true, consuming: true });
    expect(await deadLetters.count()).toBe(0);
  } finally {
    await second.stop();
  }
}
