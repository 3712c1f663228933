import { Latency } from '../latency.js';

/** One request: resolves with the answer, rejects on failure. */
export type Call = (n: number) => Promise<unknown>;

/** What one side of the comparison measured. */
export interface RequestReplyResult {
  /** Requests answered per second with `inFlight` requests outstanding at all times (closed loop). */
  readonly requestsPerSec: number;
  /** The paced rate the latency was measured at (half of `requestsPerSec`). */
  readonly halfRatePerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** This process's CPU (caller and replier both run here) per request during the closed loop, in µs. */
  readonly cpuUsPerRequest: number;
}

/**
 * Closed loop: `total` requests with exactly `inFlight` outstanding until the
 * last ones; resolves with requests per second from the first send to the
 * last answer. Any failed request fails the run.
 */
export async function throughput(call: Call, total: number, inFlight: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < total) await call(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
  return total / ((performance.now() - started) / 1_000);
}

/**
 * Open loop: `total` requests at `ratePerSec`, each sent at its scheduled time
 * whatever the earlier ones do; the latency of each counts from its scheduled
 * time (so a stall is not hidden by sending later), into an HDR histogram.
 */
export async function pacedLatency(
  call: Call,
  total: number,
  ratePerSec: number,
): Promise<{ p50Ms: number; p99Ms: number }> {
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
  return { p50Ms: round(latency.percentile(50)), p99Ms: round(latency.percentile(99)) };
}

/** Peak with `inFlight` outstanding, then latency at half of that peak. */
export async function measure(
  label: string,
  call: Call,
  options: { requests: number; inFlight: number },
): Promise<RequestReplyResult> {
  await throughput(call, Math.min(5_000, options.requests), options.inFlight); // warm-up: JIT, connections
  const cpuBefore = process.cpuUsage();
  const requestsPerSec = Math.round(await throughput(call, options.requests, options.inFlight));
  const cpu = process.cpuUsage(cpuBefore);
  const cpuUsPerRequest = round((cpu.user + cpu.system) / options.requests);
  const halfRatePerSec = Math.max(1, Math.round(requestsPerSec / 2));
  const latencyRequests = Math.min(options.requests, Math.max(1_000, halfRatePerSec * 5));
  const { p50Ms, p99Ms } = await pacedLatency(call, latencyRequests, halfRatePerSec);
  console.log(
    `${label}: ${requestsPerSec} requests/s with ${options.inFlight} in flight; at ${halfRatePerSec}/s: p50 ${p50Ms} ms, p99 ${p99Ms} ms; ${cpuUsPerRequest} µs CPU/request`,
  );
  return { requestsPerSec, halfRatePerSec, p50Ms, p99Ms, cpuUsPerRequest };
}

const round = (value: number): number => Math.round(value * 1_000) / 1_000;
