import { FLOW_KINDS, type FlowKind, type FlowPoint } from './otlp-metrics.js';

/** How long the received counts are kept, in ms (15 minutes). */
export const RATES_RETENTION_MS = 15 * 60_000;

/** Width of one count bucket, in ms: counts are kept per minute. */
export const RATES_STEP_MS = 60_000;

/** Most time series followed at once; points of further series are refused (reported as rejected). */
export const MAX_SERIES = 10_000;

/** Handled, retried and dead-lettered counts of one service per minute, oldest first. */
export type KindCounts = Readonly<Record<FlowKind, readonly number[]>>;

interface Series {
  readonly start: string;
  readonly value: number;
}

/**
 * The framework's counters received over OTLP, turned into counts per service and minute, kept in
 * memory for {@link RATES_RETENTION_MS}. A delta point adds its value. A cumulative point adds its
 * increase over the previous point of the same series; a new `startTimeUnixNano`, or a value
 * below the previous one, is a restart of the counter (a service restarted), and its whole value
 * is new. The first point of a series counts in full only when its start is not before this
 * dashboard started (the counting is then known to lie within our memory); else it only sets
 * the baseline, as the OpenTelemetry Collector's cumulativetodelta processor does by default.
 * Counts go to the minute in which the export arrived (the services' clocks are not trusted).
 * Memory is bounded by {@link MAX_SERIES} and the retention.
 */
export class FlowRates {
  readonly #startedAt: bigint;
  readonly #series = new Map<string, Series>();
  /** Per service: minute index (ms / 60 000) → counts of that minute. */
  readonly #buckets = new Map<string, Map<number, Record<FlowKind, number>>>();
  /** When the first point was received, ms; undefined before. */
  #firstAt: number | undefined;

  constructor(startedAt = Date.now()) {
    this.#startedAt = BigInt(startedAt) * 1_000_000n;
  }

  /** When the first point arrived (ms since the epoch), or undefined when none has. */
  get firstAt(): number | undefined {
    return this.#firstAt;
  }

  /** Count `points` received at `now`; returns how many were refused (over {@link MAX_SERIES}). */
  add(points: readonly FlowPoint[], now = Date.now()): number {
    this.#prune(now);
    this.#firstAt ??= now;
    let rejected = 0;
    for (const point of points) {
      const previous = this.#series.get(point.series);
      let increase: number;
      if (!point.cumulative) increase = point.value;
      else if (previous === undefined) increase = BigInt(point.start) >= this.#startedAt ? point.value : 0;
      else if (previous.start !== point.start || point.value < previous.value) increase = point.value;
      else increase = point.value - previous.value;
      if (point.cumulative) {
        if (previous === undefined && this.#series.size >= MAX_SERIES) {
          rejected++;
          continue;
        }
        this.#series.set(point.series, { start: point.start, value: point.value });
      }
      if (increase > 0) this.#bucket(point.service, now)[point.kind] += increase;
    }
    return rejected;
  }

  /** The services that sent any point still in memory. */
  get services(): string[] {
    return [...this.#buckets.keys()];
  }

  /**
   * The counts of `service` in the `minutes` minutes starting at `from` (ms, a minute boundary),
   * or undefined when nothing of it is in memory. Minutes older than the retention are 0.
   */
  counts(service: string, from: number, minutes: number): KindCounts | undefined {
    const buckets = this.#buckets.get(service);
    if (buckets === undefined) return undefined;
    const first = Math.floor(from / RATES_STEP_MS);
    const counts = Object.fromEntries(FLOW_KINDS.map((k) => [k, new Array<number>(minutes).fill(0)])) as Record<
      FlowKind,
      number[]
    >;
    for (const [minute, bucket] of buckets) {
      const i = minute - first;
      if (i < 0 || i >= minutes) continue;
      for (const kind of FLOW_KINDS) counts[kind][i] = bucket[kind];
    }
    return counts;
  }

  #bucket(service: string, now: number): Record<FlowKind, number> {
    let buckets = this.#buckets.get(service);
    if (buckets === undefined) {
      buckets = new Map();
      this.#buckets.set(service, buckets);
    }
    const minute = Math.floor(now / RATES_STEP_MS);
    let bucket = buckets.get(minute);
    if (bucket === undefined) {
      bucket = { handled: 0, retried: 0, deadLettered: 0 };
      buckets.set(minute, bucket);
    }
    return bucket;
  }

  /**
   * Forget buckets older than the retention. Series are kept (up to {@link MAX_SERIES}): one
   * forgotten would count its whole running total again at its next point.
   */
  #prune(now: number): void {
    const oldest = Math.floor((now - RATES_RETENTION_MS) / RATES_STEP_MS);
    for (const [service, buckets] of this.#buckets) {
      for (const minute of buckets.keys()) if (minute < oldest) buckets.delete(minute);
      if (buckets.size === 0) this.#buckets.delete(service);
    }
  }
}
