import { describe, expect, it } from 'vitest';
import { delivery, message, recorded, registration, runFor } from '../../../test/stage-fixtures.js';
import type { HandlerContext } from '../../handlers/types.js';
import { invokeStage } from './invoke.js';

const context = () => ({ service: 'svc' }) as unknown as HandlerContext;

describe('invoke stage', () => {
  it('calls the handler with the payload and its context, synchronously when the handler is', () => {
    const calls: unknown[][] = [];
    const { handler } = registration((payload, ctx) => void calls.push([payload, ctx.service]));
    const run = runFor(handler, delivery(message({ payload: { n: 3 } })));
    run.payload = { n: 4 };
    expect(invokeStage(context, recorded().observers).wrap(() => undefined)(run)).toBeUndefined();
    expect(calls).toEqual([[{ n: 4 }, 'svc']]);
    expect(run.outcome).toBe('handled');
  });

  it('times a handled run only when someone listens to handled', async () => {
    const { observers } = recorded();
    const run = runFor(registration(async () => undefined).handler);
    await invokeStage(context, observers).wrap(() => undefined)(run);
    expect(run.outcome).toBe('handled');
    expect(run.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports each failure and passes it on as it is', async () => {
    const { observers, seen } = recorded();
    const boom = new Error('boom');
    const sync = runFor(
      registration(() => {
        throw boom;
      }).handler,
    );
    expect(() => invokeStage(context, observers).wrap(() => undefined)(sync)).toThrow(boom);
    const async = runFor(registration(() => Promise.reject(boom)).handler);
    await expect(invokeStage(context, observers).wrap(() => undefined)(async)).rejects.toBe(boom);
    expect(seen.failed.map((event) => event.error)).toEqual([boom, boom]);
    expect(async.outcome).toBeUndefined();
  });
});
