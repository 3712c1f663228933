import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeadlineWatch } from './deadline-watch.js';

describe('DeadlineWatch', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires a call at its deadline, and not one that finished first', () => {
    vi.useFakeTimers({ now: 1_000 });
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    const doneA = watch.watch(1_100, () => expired.push('a'));
    watch.watch(1_200, () => expired.push('b'));
    doneA();
    vi.advanceTimersByTime(150);
    expect(expired).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(expired).toEqual(['b']);
  });

  it('honours a deadline earlier than every one already waiting (a retried call)', () => {
    vi.useFakeTimers({ now: 1_000 });
    const watch = new DeadlineWatch();
    const expired: string[] = [];
    watch.watch(5_000, () => expired.push('late'));
    watch.watch(1_050, () => expired.push('early'));
    vi.advanceTimersByTime(60);
    expect(expired).toEqual(['early']);
    vi.advanceTimersByTime(4_000);
    expect(expired).toEqual(['early', 'late']);
  });

  it('expires nothing after clear', () => {
    vi.useFakeTimers({ now: 1_000 });
    const watch = new DeadlineWatch();
    const expire = vi.fn();
    watch.watch(1_010, expire);
    watch.clear();
    vi.advanceTimersByTime(100);
    expect(expire).not.toHaveBeenCalled();
  });
});
