import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.js';
import { DEFAULT_RETRY_POLICY, resolveRetryPolicy, retryDelayMs } from './retry-policy.js';

describe('retry policy', () => {
  const policy = resolveRetryPolicy({ initialDelayMs: 100, multiplier: 2, maxDelayMs: 1_000, jitter: 0 });

  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(policy, n))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('spreads delays by the jitter, within bounds', () => {
    const jittered = resolveRetryPolicy({ initialDelayMs: 1_000, jitter: 0.2 });
    expect(retryDelayMs(jittered, 1, () => 0)).toBe(800);
    expect(retryDelayMs(jittered, 1, () => 1)).toBe(1_200);
    expect(retryDelayMs(jittered, 1, () => 0.5)).toBe(1_000);
  });

  it('merges over the defaults and rejects bad values with the field name', () => {
    expect(resolveRetryPolicy({ instantRetries: 0 }).delayedRetries).toBe(DEFAULT_RETRY_POLICY.delayedRetries);
    expect(() => resolveRetryPolicy({ delayedRetries: -1 })).toThrow(ConfigurationError);
    expect(() => resolveRetryPolicy({ jitter: 2 })).toThrow(/retry.jitter/);
    expect(() => resolveRetryPolicy({ multiplier: 0.5 })).toThrow(/retry.multiplier/);
  });
});
