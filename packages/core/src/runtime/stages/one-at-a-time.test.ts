import { describe, expect, it } from 'vitest';
import { delivery, registration, runFor } from '../../../test/stage-fixtures.js';
import { oneAtATimeStage } from './one-at-a-time.js';
import type { HandlerRun, Step } from './pipeline.js';

describe('one-at-a-time stage', () => {
  it('makes a second copy of a message wait for the first run of the same handler', async () => {
    const order: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const next = (run: HandlerRun): Step => {
      order.push(`start ${run.delivery.deliveryCount}`);
      return run.delivery.deliveryCount === 1 ? gate.then(() => void order.push('end 1')) : undefined;
    };
    const step = oneAtATimeStage().wrap(next);
    const { handler } = registration();
    const first = runFor(handler, delivery(undefined, 1));
    const copy = runFor(handler, delivery(first.delivery.message, 2));
    const running = [step(first), step(copy)];
    await Promise.resolve();
    expect(order).toEqual(['start 1']);
    release();
    await Promise.all(running);
    expect(order).toEqual(['start 1', 'end 1', 'start 2']);
  });

  it('lets different messages run at the same time', async () => {
    const started: number[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const step = oneAtATimeStage().wrap((run) => {
      started.push(run.delivery.deliveryCount);
      return gate;
    });
    const { handler } = registration();
    const running = [step(runFor(handler, delivery(undefined, 1))), step(runFor(handler, delivery(undefined, 2)))];
    expect(started).toEqual([1, 2]);
    release();
    await Promise.all(running);
  });
});
