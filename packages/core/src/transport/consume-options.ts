import { ConfigurationError } from '../errors.js';
import type { ConsumeOptions } from './types.js';

/** {@link ConsumeOptions} with both limits resolved and checked. */
export interface ConsumeLimits {
  readonly concurrency: number;
  readonly prefetch: number;
}

/**
 * The shared preamble of every `Transport.consume`: `concurrency` defaults to
 * 1, `prefetch` to `defaultPrefetch(concurrency)` (by default `concurrency`
 * itself); both must be positive integers, or it throws a ConfigurationError
 * naming the option. Pure; call it before any I/O.
 */
export function consumeLimits(
  options: ConsumeOptions | undefined,
  defaultPrefetch: (concurrency: number) => number = (concurrency) => concurrency,
): ConsumeLimits {
  const concurrency = options?.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConfigurationError(`consume: 'concurrency' must be a positive integer, got ${String(concurrency)}`);
  }
  const prefetch = options?.prefetch ?? defaultPrefetch(concurrency);
  if (!Number.isInteger(prefetch) || prefetch < 1) {
    throw new ConfigurationError(`consume: 'prefetch' must be a positive integer, got ${String(prefetch)}`);
  }
  return { concurrency, prefetch };
}
