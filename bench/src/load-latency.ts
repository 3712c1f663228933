import { median } from './request-reply/load.js';
import type { RunResult } from './run-loop.js';

/**
 * Pairs run per load (`--load-rounds`) when not given. One paced run of a few seconds holds a
 * few dozen thousand messages, so its p99 is set by whether one stall of the broker, the disk or
 * the scheduler fell into it (seen: the same side at the same load 6.7 ms in one run, 136 ms in
 * the next); the median of three pairs says what is typical.
 */
export const DEFAULT_LOAD_ROUNDS = 3;

/**
 * p50/p99 of both sides at one offered load: medians over the pairs, and every pair's p99; and
 * what a message cost at that load (median CPU µs per message of the process, and of the machine
 * where `/proc/stat` exists): a side that batches well at peak may spend far more per message when
 * the batches are small.
 */
export interface LoadLatency {
  readonly load: number;
  readonly rate: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly raw_p50_ms: number;
  readonly raw_p99_ms: number;
  readonly p99_ms_rounds: readonly number[];
  readonly raw_p99_ms_rounds: readonly number[];
  readonly cpu_us_per_msg: number;
  readonly raw_cpu_us_per_msg: number;
  readonly machine_cpu_us_per_msg?: number;
  readonly raw_machine_cpu_us_per_msg?: number;
}

/** One paced run of a side at `ratePerSec`; the pair number names its channels. */
export type PacedRun = (ratePerSec: number, pair: number) => Promise<RunResult>;

/**
 * Run framework and raw `rounds` times each at `ratePerSec`, alternating which goes first, and
 * report the median p50 and p99 of each side. Throws when a side ran faster than asked: it did
 * not pass the rate to its loop, and its latency would be a closed loop's.
 */
export async function measureLoad(
  load: number,
  ratePerSec: number,
  rounds: number,
  sides: { framework: PacedRun; raw: PacedRun },
): Promise<LoadLatency> {
  const framework: RunResult[] = [];
  const raw: RunResult[] = [];
  for (let pair = 0; pair < Math.max(1, rounds); pair++) {
    const runFramework = async () =>
      framework.push(paced('framework', ratePerSec, await sides.framework(ratePerSec, pair)));
    const runRaw = async () => raw.push(paced('raw', ratePerSec, await sides.raw(ratePerSec, pair)));
    if (pair % 2 === 0) {
      await runFramework();
      await runRaw();
    } else {
      await runRaw();
      await runFramework();
    }
  }
  const machine = (runs: RunResult[]) =>
    runs.every((run) => run.machineCpuUsPerMsg !== undefined)
      ? median(runs.map((run) => run.machineCpuUsPerMsg as number))
      : undefined;
  const frameworkMachine = machine(framework);
  const rawMachine = machine(raw);
  return {
    load,
    rate: ratePerSec,
    p50_ms: median(framework.map((run) => run.p50Ms)),
    p99_ms: median(framework.map((run) => run.p99Ms)),
    raw_p50_ms: median(raw.map((run) => run.p50Ms)),
    raw_p99_ms: median(raw.map((run) => run.p99Ms)),
    p99_ms_rounds: framework.map((run) => run.p99Ms),
    raw_p99_ms_rounds: raw.map((run) => run.p99Ms),
    cpu_us_per_msg: median(framework.map((run) => run.cpuUsPerMsg)),
    raw_cpu_us_per_msg: median(raw.map((run) => run.cpuUsPerMsg)),
    ...(frameworkMachine !== undefined && rawMachine !== undefined
      ? { machine_cpu_us_per_msg: frameworkMachine, raw_machine_cpu_us_per_msg: rawMachine }
      : {}),
  };
}

function paced(side: string, ratePerSec: number, result: RunResult): RunResult {
  if (result.msgsPerSec > ratePerSec * 1.1) {
    throw new Error(
      `the ${side} side ran at ${result.msgsPerSec} msgs/s when asked for ${ratePerSec}: it ignores ratePerSec`,
    );
  }
  return result;
}
