import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand } from '../src/contracts/contract.js';
import { InMemoryDeadLetterStore } from '../src/resilience/memory-stores.js';
import { createService } from '../src/service/service.js';
import type { Logger } from '../src/util/logger.js';

const Work = defineCommand('logf.work', z.object({ n: z.number() }));
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/** A pluggable logger that keeps every line. */
function recordingLogger(): Logger & {
  lines: Array<{ level: string; object: Record<string, unknown>; message?: string }>;
} {
  const lines: Array<{ level: string; object: Record<string, unknown>; message?: string }> = [];
  const at =
    (level: string) =>
    (object: object, message?: string): void =>
      void lines.push({ level, object: object as Record<string, unknown>, ...(message ? { message } : {}) });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('framework log lines about a message', () => {
  it('carry service, message id, type, correlation id and trace id (dead letter, discard, final-failure hook)', async () => {
    const logger = recordingLogger();
    const deadLetters = new InMemoryDeadLetterStore();
    const service = createService({
      name: 'logf',
      transport: 'memory://logf',
      handleSignals: false,
      logger,
      deadLetters,
      telemetry: false,
      onFinalFailure: () => {
        throw new Error('alerting is down');
      },
      retry: { instantRetries: 0, delayedRetries: 0 },
    });
    service.handle(
      Work,
      ({ n }) => {
        throw new Error(`bad ${n}`);
      },
      { distributed: true },
    );
    service.handleEndpoint(
      'drop',
      () => {
        throw new Error('droppable');
      },
      { finalFailure: 'discard', retry: { delayedRetries: 0, instantRetries: 0 } },
    );
    await service.start();
    try {
      await service.distributedBus.sendCommand(
        'logf',
        Work,
        { n: 1 },
        { traceparent: TRACEPARENT, correlationId: 'c-1' },
      );
      await service.distributedBus.sendMessage(
        'logf',
        'drop',
        { n: 2 },
        { traceparent: TRACEPARENT, correlationId: 'c-2' },
      );
      await expect
        .poll(() => logger.lines.filter((line) => line.message === 'message discarded').length, { timeout: 5_000 })
        .toBe(1);
      await expect.poll(() => deadLetters.count(), { timeout: 5_000 }).toBe(1);
      await service.whenIdle();
      const about = logger.lines.filter((line) => line.object.messageId !== undefined);
      expect(about.map((line) => line.message).sort()).toEqual([
        'message dead-lettered',
        'message discarded',
        'onFinalFailure threw; ignored',
        'onFinalFailure threw; ignored',
      ]);
      for (const line of about) {
        expect(line.object).toMatchObject({
          service: 'logf',
          messageId: expect.any(String),
          type: expect.stringMatching(/^(logf\.work|drop)$/),
          correlationId: expect.stringMatching(/^c-[12]$/),
          traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        });
      }
    } finally {
      await service.stop();
    }
    expect(
      logger.lines
        .filter((line) => line.message?.startsWith('service '))
        .every((line) => line.object.service === 'logf'),
    ).toBe(true);
  });
});
