import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConnectionWatch } from './connection-watch.js';
import type { ConnectionState } from './types.js';

describe('ConnectionWatch', () => {
  afterEach(() => vi.useRealTimers());

  const watched = (downAfterMs = 1_000) => {
    vi.useFakeTimers();
    const watch = new ConnectionWatch({ endpoint: 'broker:1', downAfterMs });
    const states: ConnectionState[] = [];
    watch.watch((state) => states.push(state));
    return { watch, states, statuses: () => states.map((s) => s.status) };
  };

  it('reports connected at the first answer and once only', () => {
    const { watch, states } = watched();
    watch.up();
    watch.up();
    expect(states).toEqual([{ status: 'connected', endpoint: 'broker:1' }]);
  });

  it('reports disconnected, with the error, once a failure went downAfterMs without an answer', () => {
    const { watch, states, statuses } = watched();
    watch.up();
    const error = new Error('ECONNREFUSED');
    watch.down(error);
    watch.down(new Error('again'));
    vi.advanceTimersByTime(999);
    expect(statuses()).toEqual(['connected']);
    vi.advanceTimersByTime(1);
    expect(states[1]).toEqual({ status: 'disconnected', endpoint: 'broker:1', error });
    watch.down(error);
    vi.advanceTimersByTime(5_000);
    watch.up();
    expect(statuses()).toEqual(['connected', 'disconnected', 'connected']);
  });

  it('an answer within downAfterMs cancels the failure (another connection still works)', () => {
    const { watch, statuses } = watched();
    watch.up();
    watch.down(new Error('one broker'));
    vi.advanceTimersByTime(500);
    watch.up();
    vi.advanceTimersByTime(5_000);
    expect(statuses()).toEqual(['connected']);
  });

  it('reports a broker that never answered as disconnected', () => {
    const { watch, statuses } = watched(200);
    watch.down(new Error('refused'));
    vi.advanceTimersByTime(200);
    expect(watch.status).toBe('disconnected');
    expect(statuses()).toEqual(['disconnected']);
  });

  it('a throwing listener does not stop the others; nothing is reported after close', () => {
    const { watch, statuses } = watched();
    watch.watch(() => {
      throw new Error('listener fault');
    });
    watch.up();
    expect(statuses()).toEqual(['connected']);
    watch.down(new Error('x'));
    watch.close();
    vi.advanceTimersByTime(5_000);
    watch.up();
    expect(statuses()).toEqual(['connected']);
  });

  it('unsubscribing stops the reports to that listener', () => {
    const { watch, statuses } = watched();
    const other: string[] = [];
    const stop = watch.watch((state) => other.push(state.status));
    stop();
    watch.up();
    expect(statuses()).toEqual(['connected']);
    expect(other).toEqual([]);
  });
});
