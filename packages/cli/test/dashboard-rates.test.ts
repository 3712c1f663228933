import { describe, expect, it } from 'vitest';
import type { FlowPoint } from '../src/dashboard/otlp-metrics.js';
import { FlowRates, MAX_SERIES, RATES_RETENTION_MS } from '../src/dashboard/rates.js';

const STARTED = Date.UTC(2026, 0, 1, 12, 0, 0);
const ns = (ms: number) => String(BigInt(ms) * 1_000_000n);
const point = (value: number, start: number, extra: Partial<FlowPoint> = {}): FlowPoint => ({
  service: 'order-service',
  kind: 'handled',
  series: 'a',
  start: ns(start),
  value,
  cumulative: true,
  ...extra,
});
/** The handled counts of order-service in the 20 minutes from the dashboard's start. */
const handled = (rates: FlowRates) => rates.counts('order-service', STARTED, 20)?.handled;

/** Counter points to counts per minute: what a cumulative series adds, and when it starts over. */
describe('FlowRates', () => {
  it('takes a running total that began before the dashboard as the baseline only', () => {
    const rates = new FlowRates(STARTED);
    rates.add([point(500, STARTED - 60_000)], STARTED + 1_000);
    rates.add([point(530, STARTED - 60_000)], STARTED + 61_000);
    expect(handled(rates)?.slice(0, 3)).toEqual([0, 30, 0]);
  });

  it('counts a series that began after the dashboard in full, then its increases, and a restart in full', () => {
    const rates = new FlowRates(STARTED);
    rates.add([point(7, STARTED + 500)], STARTED + 1_000);
    rates.add([point(7, STARTED + 500)], STARTED + 2_000);
    rates.add([point(10, STARTED + 500)], STARTED + 61_000);
    // Restarted: a new start time, a smaller total.
    rates.add([point(4, STARTED + 90_000)], STARTED + 121_000);
    // Same start, a smaller total: also a restart (a counter that was reset).
    rates.add([point(1, STARTED + 90_000)], STARTED + 181_000);
    expect(handled(rates)?.slice(0, 5)).toEqual([7, 3, 4, 1, 0]);
  });

  it('adds delta points as they are, and keeps the kinds and services apart', () => {
    const rates = new FlowRates(STARTED);
    rates.add(
      [
        point(2, STARTED - 99_000, { cumulative: false }),
        point(3, STARTED, { cumulative: false, kind: 'retried', series: 'b' }),
        point(4, STARTED, { cumulative: false, service: 'mail-service', series: 'c' }),
      ],
      STARTED + 1_000,
    );
    rates.add([point(2, STARTED - 99_000, { cumulative: false })], STARTED + 2_000);
    expect(rates.counts('order-service', STARTED, 1)).toEqual({ handled: [4], retried: [3], deadLettered: [0] });
    expect(rates.counts('mail-service', STARTED, 1)?.handled).toEqual([4]);
    expect(rates.counts('billing-service', STARTED, 1)).toBeUndefined();
  });

  it('forgets minutes past the retention, and refuses series past the limit', () => {
    const rates = new FlowRates(STARTED);
    rates.add([point(5, STARTED)], STARTED);
    rates.add([point(6, STARTED)], STARTED + RATES_RETENTION_MS + 60_000);
    expect(handled(rates)?.[0]).toBe(0);
    expect(handled(rates)?.[16]).toBe(1);
    const many = Array.from({ length: MAX_SERIES + 5 }, (_, i) => point(1, STARTED, { series: `s${i}` }));
    expect(rates.add(many, STARTED + RATES_RETENTION_MS + 60_000)).toBe(6);
  });
});
