import { describe, expect, it } from 'vitest';
import { waitFor } from '../src/index.js';

describe('waitFor', () => {
  it('resolves once the predicate holds', async () => {
    let polls = 0;
    await waitFor(() => ++polls >= 3, 'three polls', 1_000, 1);
    expect(polls).toBe(3);
  });

  it('describes the state at the timeout when `what` is a function, not the state at the call', async () => {
    let count = 0;
    const growing = setInterval(() => count++, 1);
    try {
      await expect(
        waitFor(
          () => false,
          () => `never (count ${count})`,
          30,
          1,
        ),
      ).rejects.toThrow(/^timed out after 30 ms waiting for never \(count [1-9]\d*\)$/);
    } finally {
      clearInterval(growing);
    }
  });
});
