import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.js';
import { consumeLimits } from './consume-options.js';

describe('consumeLimits', () => {
  it('defaults concurrency to 1 and prefetch to the given default', () => {
    expect(consumeLimits(undefined)).toEqual({ concurrency: 1, prefetch: 1 });
    expect(consumeLimits({ concurrency: 4 }, (c) => Math.max(c, 64))).toEqual({ concurrency: 4, prefetch: 64 });
    expect(consumeLimits({ concurrency: 4, prefetch: 2 })).toEqual({ concurrency: 4, prefetch: 2 });
  });

  it('refuses limits that are not positive integers, naming the option', () => {
    expect(() => consumeLimits({ concurrency: 0 })).toThrow(ConfigurationError);
    expect(() => consumeLimits({ concurrency: 1.5 })).toThrow(/'concurrency'/);
    expect(() => consumeLimits({ prefetch: -1 })).toThrow(/'prefetch'/);
  });
});
