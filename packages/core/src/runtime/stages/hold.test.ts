import { describe, expect, it, vi } from 'vitest';
import { delivery, deliveryRun, fixedClock, message } from '../../../test/stage-fixtures.js';
import { Header } from '../../message/codec.js';
import { holdStage } from './hold.js';

const due = (at: number) => {
  const base = message();
  return delivery({ ...base, headers: { ...base.headers, [Header.deliverAt]: new Date(at).toISOString() } });
};

describe('hold stage', () => {
  it('passes a delivery without a due time, or one already due, straight on', () => {
    const clock = fixedClock();
    const next = vi.fn(() => undefined);
    const step = holdStage({ clock, stopping: new AbortController().signal }).wrap(next);
    expect(step(deliveryRun())).toBeUndefined();
    expect(step(deliveryRun(due(clock.now() - 1)))).toBeUndefined();
    expect(next).toHaveBeenCalledTimes(2);
  });

  it('holds a delivery until it is due', async () => {
    const clock = fixedClock();
    const next = vi.fn(() => undefined);
    const held = holdStage({ clock, stopping: new AbortController().signal }).wrap(next)(
      deliveryRun(due(clock.now() + 5_000)),
    );
    clock.advance(4_999);
    expect(next).not.toHaveBeenCalled();
    clock.advance(1);
    await held;
    expect(next).toHaveBeenCalledOnce();
  });

  it('gives the delivery back at once when the service begins to stop', async () => {
    const clock = fixedClock();
    const stopping = new AbortController();
    const next = vi.fn(() => undefined);
    const held = holdStage({ clock, stopping: stopping.signal }).wrap(next)(deliveryRun(due(clock.now() + 60_000)));
    stopping.abort(new Error('stopping'));
    await expect(held).rejects.toThrow('stopping');
    expect(next).not.toHaveBeenCalled();
  });
});
