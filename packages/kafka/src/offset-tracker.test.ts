import { describe, expect, it } from 'vitest';
import { OffsetTracker } from './offset-tracker.js';

describe('OffsetTracker', () => {
  it('commits only up to the lowest unsettled offset when acks arrive out of order', () => {
    const tracker = new OffsetTracker();
    for (const offset of [10n, 11n, 12n, 13n]) tracker.dispatch(offset);
    expect(tracker.settle(12n)).toBeUndefined();
    expect(tracker.settle(11n)).toBeUndefined();
    expect(tracker.committable).toBeUndefined();
    expect(tracker.settle(10n)).toBe(13n);
    expect(tracker.inFlight).toBe(1);
    expect(tracker.settle(13n)).toBe(14n);
    expect(tracker.inFlight).toBe(0);
  });

  it('skips gaps and ignores repeats and unknown offsets', () => {
    const tracker = new OffsetTracker();
    tracker.dispatch(5n);
    tracker.dispatch(9n);
    tracker.dispatch(9n);
    tracker.dispatch(3n);
    expect(tracker.inFlight).toBe(2);
    expect(tracker.settle(7n)).toBeUndefined();
    expect(tracker.settle(5n)).toBe(9n);
    expect(tracker.settle(5n)).toBeUndefined();
    expect(tracker.settle(9n)).toBe(10n);
  });
});
