import { describe, expect, it } from 'vitest';
import { SendBatcher } from './send-batcher.js';

describe('SendBatcher', () => {
  it('merges sends issued in one turn into one flush, in submission order', async () => {
    const flushes: number[][] = [];
    const batcher = new SendBatcher<number>(async (items) => void flushes.push(items));
    await Promise.all([batcher.submit([1]), batcher.submit([2, 3]), batcher.submit([4])]);
    expect(flushes).toEqual([[1, 2, 3, 4]]);
  });

  it('caps batch size and flushes in flight; late sends wait for a slot and go out together', async () => {
    const flushes: number[][] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new SendBatcher<number>(
      async (items) => {
        flushes.push(items);
        await gate;
      },
      { maxBatch: 3, maxInFlight: 1 },
    );
    const first = batcher.submit([1, 2]);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [batcher.submit([3]), batcher.submit([4]), batcher.submit([5])];
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushes).toEqual([[1, 2]]);
    release();
    await Promise.all([first, ...later]);
    expect(flushes).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
  });

  it('rejects every submission of a failed batch and keeps serving the next ones', async () => {
    let fail = true;
    const batcher = new SendBatcher<string>(async () => {
      if (fail) throw new Error('broker said no');
    });
    const results = await Promise.allSettled([batcher.submit(['a']), batcher.submit(['b'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    await expect(batcher.submit(['c'])).resolves.toBeUndefined();
  });
});

describe('SendBatcher under a large burst', () => {
  it('stays linear: 100,000 single-item sends at once go out in full batches', async () => {
    let flushed = 0;
    let calls = 0;
    const batcher = new SendBatcher<number>(async (items) => {
      calls++;
      flushed += items.length;
    });
    await Promise.all(Array.from({ length: 100_000 }, (_, n) => batcher.submit([n])));
    expect(flushed).toBe(100_000);
    expect(calls).toBe(200);
  });
});
