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

/**
 * Rounds when `--rounds` is not given. Single pairs on a 2-core machine were
 * seen to swing by ±15% (GC, scheduling, the broker's own timers; once a
 * Kafka raw round at a third of its neighbours): the median of five is less
 * exposed to one odd pair than the median of three.
 */
export const DEFAULT_ROUNDS = 5;

/** Arguments every benchmark accepts. */
export interface BenchArgs {
  readonly messages?: number;
  readonly window?: number;
  readonly concurrency?: number;
  /** Alternating framework/raw rounds; the median round is reported (default {@link DEFAULT_ROUNDS}). */
  readonly rounds?: number;
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

/** One round's numbers, kept in the JSON line for transparency. */
export interface Round {
  readonly framework: number;
  readonly raw: number;
  readonly ratio: number;
}

/**
 * Run framework and raw `rounds` times, alternating which goes first, and
 * pick the round with the median ratio: on a shared machine a single pair can
 * be off by 2x either way, while pairs run back to back see the same
 * conditions. The framework figures reported are those of the median round.
 */
export async function alternate(
  rounds: number,
  framework: (round: number) => Promise<RunResult>,
  raw: (round: number) => Promise<{ msgsPerSec: number }>,
): Promise<{ framework: RunResult; raw: { msgsPerSec: number }; rounds: Round[] }> {
  const results: Array<{ framework: RunResult; raw: { msgsPerSec: number }; ratio: number }> = [];
  for (let round = 0; round < Math.max(1, rounds); round++) {
    let f: RunResult;
    let r: { msgsPerSec: number };
    if (round % 2 === 0) {
      f = await framework(round);
      r = await raw(round);
    } else {
      r = await raw(round);
      f = await framework(round);
    }
    results.push({ framework: f, raw: r, ratio: f.msgsPerSec / r.msgsPerSec });
    console.log(
      `round ${round + 1}: framework ${f.msgsPerSec} msgs/s, raw ${Math.round(r.msgsPerSec)} msgs/s, ratio ${round3(f.msgsPerSec / r.msgsPerSec)}`,
    );
  }
  const sorted = [...results].sort((a, b) => a.ratio - b.ratio);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as (typeof results)[number];
  return {
    framework: median.framework,
    raw: median.raw,
    rounds: results.map((x) => ({
      framework: x.framework.msgsPerSec,
      raw: Math.round(x.raw.msgsPerSec),
      ratio: round3(x.ratio),
    })),
  };
}

const round3 = (value: number): number => Math.round(value * 1_000) / 1_000;
