import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineQuery } from '../contracts/contract.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import { PendingCall } from './pending-call.js';
import { RequestDeadlines } from './request-deadlines.js';

const Ask = defineQuery('deadline.ask', z.object({}));

describe('RequestDeadlines: one timer for every waiting request', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function setup() {
    const deadlines = new RequestDeadlines(Date.now);
    const keeper = { release: (call: PendingCall) => deadlines.delete(call) };
    const call = (timeoutMs: number) => {
      const made = new PendingCall(keeper, 'svc', Ask, deadlines.now(), timeoutMs, undefined);
      deadlines.add(made);
      made.promise.catch(() => undefined);
      return made;
    };
    return { deadlines, call };
  }

  it('expires each call at its own deadline, never before, with SY_TIMEOUT', async () => {
    const { deadlines, call } = setup();
    const slow = call(100);
    const fast = call(50);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(49);
    expect([fast.settled, slow.settled]).toEqual([false, false]);
    await vi.advanceTimersByTimeAsync(1);
    expect([fast.settled, slow.settled]).toEqual([true, false]);
    const error = await fast.promise.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwitchyardError);
    expect((error as SwitchyardError).code).toBe(ErrorCode.Timeout);
    expect((error as SwitchyardError).message).toBe("no reply to 'deadline.ask' from 'svc' within 50 ms");
    await vi.advanceTimersByTimeAsync(49);
    expect(slow.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(slow.settled).toBe(true);
    expect(deadlines.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a call answered early is forgotten, and no timer is left once none waits', async () => {
    const { deadlines, call } = setup();
    const first = call(50);
    const second = call(80);
    first.resolve('answer');
    await expect(first.promise).resolves.toBe('answer');
    // The timer armed for the first call fires for nothing and re-arms for the second.
    await vi.advanceTimersByTimeAsync(79);
    expect(second.settled).toBe(false);
    second.resolve('late enough');
    expect(deadlines.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a shorter deadline added later re-arms the timer earlier', async () => {
    const { call } = setup();
    const long = call(1_000);
    const short = call(10);
    await vi.advanceTimersByTimeAsync(10);
    expect([short.settled, long.settled]).toEqual([true, false]);
    expect(vi.getTimerCount()).toBe(1);
  });
});
