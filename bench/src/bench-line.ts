import { type RunResult, round } from './framework-run.js';

/** The benchmark's result line: printed last, as one JSON object. */
export interface BenchLine {
  readonly transport: string;
  readonly messages: number;
  readonly framework_msgs_per_s: number;
  readonly raw_msgs_per_s: number;
  readonly ratio: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly cpu_us_per_msg: number;
  readonly [extra: string]: unknown;
}

/** Arguments every benchmark accepts. */
export interface BenchArgs {
  readonly messages?: number;
  readonly window?: number;
  readonly concurrency?: number;
  readonly runId: string;
}

/** Build the line from a framework run and the raw baseline of the same run; prints a human summary first. */
export function benchLine(
  transport: string,
  messages: number,
  framework: RunResult,
  raw: { msgsPerSec: number },
  extra: Record<string, unknown> = {},
): BenchLine {
  console.log(
    `${transport}: framework ${framework.msgsPerSec} msgs/s (p50 ${framework.p50Ms} ms, p99 ${framework.p99Ms} ms, ${framework.cpuUsPerMsg} µs CPU/msg); raw ${Math.round(raw.msgsPerSec)} msgs/s`,
  );
  return {
    transport,
    messages,
    framework_msgs_per_s: framework.msgsPerSec,
    raw_msgs_per_s: Math.round(raw.msgsPerSec),
    ratio: round(framework.msgsPerSec / raw.msgsPerSec),
    p50_ms: framework.p50Ms,
    p99_ms: framework.p99Ms,
    cpu_us_per_msg: framework.cpuUsPerMsg,
    ...extra,
  };
}
