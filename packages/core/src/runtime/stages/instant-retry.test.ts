import { describe, expect, it } from 'vitest';
import { registration, runFor } from '../../../test/stage-fixtures.js';
import { instantRetryStage } from './instant-retry.js';
import type { Step } from './pipeline.js';

const failingTimes = (times: number, async = false) => {
  let calls = 0;
  const next = (): Step => {
    calls++;
    if (calls > times) return undefined;
    if (async) return Promise.reject(new Error(`fail ${calls}`));
    throw new Error(`fail ${calls}`);
  };
  return { next, calls: () => calls };
};

describe('instant-retry stage', () => {
  it('runs the rest again at once, up to instantRetries times', async () => {
    const { handler } = registration(undefined, { retry: { instantRetries: 2 } });
    const twice = failingTimes(2);
    expect(instantRetryStage(new AbortController().signal).wrap(twice.next)(runFor(handler))).toBeUndefined();
    expect(twice.calls()).toBe(3);
    const always = failingTimes(99, true);
    await expect(instantRetryStage(new AbortController().signal).wrap(always.next)(runFor(handler))).rejects.toThrow(
      'fail 3',
    );
    expect(always.calls()).toBe(3);
  });

  it('does not retry an error the policy will not retry, nor after the service stopped', () => {
    const notRetryable = registration(undefined, { retry: { instantRetries: 5, retryable: () => false } }).handler;
    const once = failingTimes(99);
    expect(() => instantRetryStage(new AbortController().signal).wrap(once.next)(runFor(notRetryable))).toThrow(
      'fail 1',
    );
    const stopped = new AbortController();
    stopped.abort();
    const afterStop = failingTimes(99);
    expect(() => instantRetryStage(stopped.signal).wrap(afterStop.next)(runFor(registration().handler))).toThrow(
      'fail 1',
    );
  });
});
