import { describe, expect, it } from 'vitest';
import { delivery, deliveryRun, message } from '../../../test/stage-fixtures.js';
import { HandlerRegistry } from '../../handlers/registry.js';
import { decode } from '../../message/codec.js';
import { resolveRetryPolicy } from '../../resilience/retry-policy.js';
import { handlersStage } from './handlers.js';
import type { HandlerRun } from './pipeline.js';

const registry = new HandlerRegistry(resolveRetryPolicy({}));
const first = registry.add('order.*', () => undefined, { distributed: true, name: 'first' });
const second = registry.add('order.#', () => undefined, { distributed: true, name: 'second' });

const eventRun = () => {
  const of = message({ kind: 'event', name: 'order.placed' });
  const run = deliveryRun(delivery(of));
  run.envelope = decode(of, 1_000_000);
  run.handlers = [first, second];
  return run;
};

describe('handlers stage', () => {
  it("runs each handler's pipeline in order, the next after the previous finished", async () => {
    const order: string[] = [];
    const pipeline = (run: HandlerRun) => {
      order.push(`${run.handler.id}>`);
      return Promise.resolve().then(() => void order.push(`<${run.handler.id}`));
    };
    await handlersStage(pipeline).wrap(() => undefined)(eventRun());
    expect(order).toEqual(['first>', '<first', 'second>', '<second']);
  });

  it("starts each handler's run fresh: its handler, the decoded payload, no outcome, no retries", () => {
    const seen: Array<[string, unknown, unknown, number]> = [];
    const run = eventRun();
    handlersStage((r) => {
      seen.push([r.handler.id, r.payload, r.outcome, r.instantRetries]);
      r.outcome = 'handled';
      r.payload = 'changed by validation';
      r.instantRetries = 2;
      return undefined;
    }).wrap(() => undefined)(run);
    expect(seen).toEqual([
      ['first', run.envelope?.payload, undefined, 0],
      ['second', run.envelope?.payload, undefined, 0],
    ]);
  });

  it('stops at an infrastructure failure, so the delivery is nacked', async () => {
    const ran: string[] = [];
    const pipeline = (r: HandlerRun) => {
      ran.push(r.handler.id);
      return Promise.reject(new Error('inbox down'));
    };
    await expect(handlersStage(pipeline).wrap(() => undefined)(eventRun())).rejects.toThrow('inbox down');
    expect(ran).toEqual(['first']);
  });
});
