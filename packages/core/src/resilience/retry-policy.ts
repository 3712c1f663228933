import { ConfigurationError } from '../errors.js';

/**
 * Per-handler retry policy. A failing handler is first retried in place
 * (`instantRetries`), then the message is re-sent to the same service with a
 * delay, addressed to that handler only (`delayedRetries`), with exponential
 * backoff capped at `maxDelayMs` and randomized by `jitter`. After the last
 * attempt the message goes to the dead letter.
 */
export interface RetryPolicyOptions {
  /** Immediate re-invocations after the first failure of a delivery (default 2). */
  readonly instantRetries?: number;
  /** Delayed re-deliveries after instant retries are spent (default 3; 0 dead-letters at once). */
  readonly delayedRetries?: number;
  /** Delay before the first delayed retry (default 1,000 ms). */
  readonly initialDelayMs?: number;
  /** Backoff factor between delayed retries (default 2). */
  readonly multiplier?: number;
  /** Upper bound of one delay (default 5 minutes). */
  readonly maxDelayMs?: number;
  /** Random spread, 0..1, applied as ±jitter×delay (default 0.2). */
  readonly jitter?: number;
  /** Return false for errors that no retry can fix; they are dead-lettered at once. */
  readonly retryable?: (error: unknown) => boolean;
}

/** A policy with every field resolved. */
export type RetryPolicy = Required<RetryPolicyOptions>;

/** What a handler gets when it sets no retry options (frozen). */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  instantRetries: 2,
  delayedRetries: 3,
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 300_000,
  jitter: 0.2,
  retryable: () => true,
});

/** Merge `options` over `base`; throws a ConfigurationError naming the bad field. */
export function resolveRetryPolicy(
  options: RetryPolicyOptions | undefined,
  base: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryPolicy {
  const policy: RetryPolicy = { ...base, ...stripUndefined(options ?? {}) };
  for (const field of ['instantRetries', 'delayedRetries', 'initialDelayMs', 'maxDelayMs'] as const) {
    const value = policy[field];
    if (!Number.isInteger(value) || value < 0) {
      throw new ConfigurationError(`retry.${field} must be a non-negative integer, got ${value}`);
    }
  }
  if (!(policy.multiplier >= 1))
    throw new ConfigurationError(`retry.multiplier must be >= 1, got ${policy.multiplier}`);
  if (!(policy.jitter >= 0 && policy.jitter <= 1))
    throw new ConfigurationError(`retry.jitter must be within 0..1, got ${policy.jitter}`);
  return Object.freeze(policy);
}

/**
 * Delay before delayed retry number `retry` (1-based), in ms. Pure apart from
 * `random`, which tests may fix.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** Math.max(0, retry - 1));
  const spread = base * policy.jitter * (random() * 2 - 1);
  return Math.max(0, Math.min(policy.maxDelayMs, Math.round(base + spread)));
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
