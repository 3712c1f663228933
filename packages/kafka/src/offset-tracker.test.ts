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

  it('keeps the contiguous rule over long runs settled in random order', () => {
    const tracker = new OffsetTracker();
    const offsets = Array.from({ length: 5000 }, (_, i) => BigInt(100 + i * 2));
    for (const offset of offsets) tracker.dispatch(offset);
    // A fixed shuffle: in order in blocks, the blocks reversed, so the frontier jumps and compacts.
    const blocks: bigint[][] = [];
    for (let i = 0; i < offsets.length; i += 700) blocks.push(offsets.slice(i, i + 700));
    const settled = new Set<bigint>();
    for (const block of blocks.reverse()) {
      for (const offset of block) {
        const next = tracker.settle(offset);
        settled.add(offset);
        const firstUnsettled = offsets.find((o) => !settled.has(o));
        if (next !== undefined) expect(next).toBe(firstUnsettled ?? (offsets.at(-1) as bigint) + 1n);
      }
    }
    expect(tracker.inFlight).toBe(0);
    expect(tracker.committable).toBe((offsets.at(-1) as bigint) + 1n);
    tracker.dispatch(20_000n);
    expect(tracker.settle(20_000n)).toBe(20_001n);
  });

  it('moves the frontier one by one while a last record stays unsettled', () => {
    const tracker = new OffsetTracker();
    for (let i = 0n; i < 3000n; i++) tracker.dispatch(i);
    for (let i = 0n; i < 2999n; i++) expect(tracker.settle(i)).toBe(i + 1n);
    expect(tracker.inFlight).toBe(1);
    expect(tracker.settle(2999n)).toBe(3000n);
  });

  it('tells the next position and the floor below which nothing it was given is unsettled', () => {
    const tracker = new OffsetTracker();
    expect(tracker.next).toBeUndefined();
    expect(tracker.floor).toBeUndefined();
    for (const offset of [5n, 6n, 7n]) tracker.dispatch(offset);
    expect(tracker.next).toBe(8n);
    expect(tracker.floor, 'nothing settled: the first offset it was given').toBe(5n);
    tracker.settle(6n);
    expect(tracker.floor).toBe(5n);
    tracker.settle(5n);
    expect(tracker.floor, 'offset 7 is still in flight').toBe(7n);
  });
});
