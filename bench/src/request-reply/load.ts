import { Latency } from '../latency.js';

/** One request: resolves with the answer, rejects on failure. */
export type Call = (n: number) => Promise<unknown>;

/** Latency of a paced (open-loop) run. */
export interface PacedLatency {
  /** The offered rate, requests per second. */
  readonly ratePerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/** One closed-loop throughput run. */
export interface ThroughputRun {
  /** Requests answered per second with `inFlight` requests outstanding at all times. */
  readonly requestsPerSec: number;
  /** This process's CPU (caller and replier both run here) per request, in µs. */
  readonly cpuUsPerRequest: number;
}

/**
 * Closed loop: `total` requests with exactly `inFlight` outstanding until the
 * last ones; resolves with requests per second from the first send to the
 * last answer, and the process's CPU per request over the same span. Any
 * failed request fails the run.
 */
export async function throughput(call: Call, total: number, inFlight: number): Promise<ThroughputRun> {
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const lane = async () => {
    while (next < total) await call(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
  const seconds = (performance.now() - started) / 1_000;
  const cpu = process.cpuUsage(cpuBefore);
  return { requestsPerSec: Math.round(total / seconds), cpuUsPerRequest: round((cpu.user + cpu.system) / total) };
}

/**
 * Open loop: `total` requests at `ratePerSec`, each sent at its scheduled time
 * whatever the earlier ones do; the latency of each counts from its scheduled
 * time (so a stall is not hidden by sending later), into an HDR histogram.
 */
export async function pacedLatency(call: Call, total: number, ratePerSec: number): Promise<PacedLatency> {
  const latency = new Latency();
  const interval = 1_000 / ratePerSec;
  const start = performance.now();
  const calls: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    calls.push(call(i).then(() => latency.record(performance.now() - due)));
  }
  await Promise.all(calls);
  return { ratePerSec, p50Ms: round(latency.percentile(50)), p99Ms: round(latency.percentile(99)) };
}

/** Requests of a paced run: about `seconds` of load at `ratePerSec`, at least 1,000, at most `cap`. */
export function pacedRequests(ratePerSec: number, cap: number, seconds = 4): number {
  return Math.min(cap, Math.max(1_000, Math.round(ratePerSec * seconds)));
}

/** The median of `values` (the lower one of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

export const round = (value: number): number => Math.round(value * 1_000) / 1_000;
