import { createService, ErrorCode, type Transport } from '@switchyard/core';
import { expect } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../broker-gate.js';

/** How a test writes a raw message (plain JSON, no Switchyard or CloudEvents header) to the foreign endpoint. */
export type RawProducer = (payload: unknown) => Promise<void>;

const LegacyOrder = z.object({ orderId: z.string() });

/**
 * Scenario for `service.consumeEndpoint` on one broker: a foreign endpoint
 * (that the test created) receives plain JSON. A message whose handler fails
 * twice is handled on its third attempt (two delayed retries, through the
 * service's own inbox); a poison message whose handler always fails ends in
 * the service's dead-letter store after its last attempt (`SY_HANDLER_FAILED`,
 * with the handler's error); a schema-invalid message ends there with
 * `SY_VALIDATION` and the endpoint as its channel; a message `convert`
 * refuses is dead-lettered without retries.
 */
export async function messageConsumerScenario(options: {
  readonly transport: () => string | Transport;
  readonly service: string;
  readonly endpoint: string;
  readonly produce: RawProducer;
  /** A second endpoint for the `convert` consumer, and its producer. */
  readonly convertEndpoint?: { readonly endpoint: string; readonly produce: RawProducer };
}): Promise<void> {
  const attempts = new Map<string, number[]>();
  const handled: string[] = [];
  const converted: string[] = [];
  const service = createService({ name: options.service, transport: options.transport(), handleSignals: false });
  service.consumeEndpoint(
    {
      endpoint: options.endpoint,
      messageName: 'legacy.order',
      schema: LegacyOrder,
      retry: { instantRetries: 0, delayedRetries: 3, initialDelayMs: 50, multiplier: 1, jitter: 0 },
    },
    (order, ctx) => {
      const seen = [...(attempts.get(order.orderId) ?? []), ctx.headers.attempt];
      attempts.set(order.orderId, seen);
      if (order.orderId === 'flaky' && seen.length <= 2) throw new Error(`flaky failure ${seen.length}`);
      if (order.orderId === 'poison') throw new Error('poison: always fails');
      handled.push(order.orderId);
    },
  );
  let deadCount = 0;
  service.on('deadLettered', () => void deadCount++);
  if (options.convertEndpoint) {
    service.consumeEndpoint(
      {
        endpoint: options.convertEndpoint.endpoint,
        convert: (message) => {
          const body = message.payload as { ref?: unknown };
          if (typeof body?.ref !== 'string') throw new Error('no ref');
          return { orderId: body.ref };
        },
      },
      (order) => void converted.push(order.orderId),
    );
  }
  try {
    await service.start();
    await options.produce({ orderId: 'flaky' });
    await options.produce({ orderId: 42 });
    await options.produce({ orderId: 'poison' });
    await options.produce({ orderId: 'steady' });
    if (options.convertEndpoint) {
      await options.convertEndpoint.produce({ ref: 'r-1' });
      await options.convertEndpoint.produce({ other: true });
    }
    const expectedDead = options.convertEndpoint ? 3 : 2;
    await waitFor(
      () =>
        handled.length === 2 &&
        converted.length === (options.convertEndpoint ? 1 : 0) &&
        service.inFlight === 0 &&
        deadCount === expectedDead,
      () => `handled [${handled}], converted [${converted}], dead letters ${deadCount}/${expectedDead}`,
      20_000,
    );
    expect(attempts.get('flaky')).toEqual([1, 2, 3]);
    expect(attempts.get('steady')).toEqual([1]);
    expect(attempts.get('poison')).toEqual([1, 2, 3, 4]);
    expect(handled.sort()).toEqual(['flaky', 'steady']);
    const dead = await service.deadLetters.list();
    const invalid = dead.find(
      (record) => record.channel === options.endpoint && record.reason.code !== ErrorCode.HandlerFailed,
    );
    expect(invalid?.reason.code).toBe(ErrorCode.Validation);
    expect(invalid?.messageName).toBe('legacy.order');
    expect(invalid?.attempts).toBe(1);
    const poison = dead.find((record) => record.reason.message.includes('poison: always fails'));
    expect(poison?.reason.code).toBe(ErrorCode.HandlerFailed);
    expect(poison?.messageName).toBe('legacy.order');
    expect(poison?.attempts).toBe(4);
    if (options.convertEndpoint) {
      expect(converted).toEqual(['r-1']);
      const refused = dead.find((record) => record.channel === options.convertEndpoint?.endpoint);
      expect(refused?.reason.message).toContain('convert refused the message: no ref');
      expect(refused?.attempts).toBe(1);
    }
  } finally {
    await service.stop();
  }
}
