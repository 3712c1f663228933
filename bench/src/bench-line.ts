import type { ConsumerSpec } from './consumer-spec.js';
import type { Layout } from './layout.js';
import { DEFAULT_LOAD_ROUNDS, type LoadLatency, measureLoad } from './load-latency.js';
import { type BenchProducer, type RunResult, round, runLoop } from './run-loop.js';

/** The benchmark's result line: one JSON object per layout, the last lines printed. */
export interface BenchLine {
  readonly transport: string;
  readonly layout: Layout;
  readonly messages: number;
  readonly framework_msgs_per_s: number;
  readonly raw_msgs_per_s: number;
  readonly ratio: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly cpu_us_per_msg: number;
  readonly raw_cpu_us_per_msg: number;
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
  /** Layouts to run, each reported on its own line (default both). */
  readonly layouts: readonly Layout[];
  /** Also measure p50/p99 of both sides at these fractions of the framework's peak rate. */
  readonly loads?: readonly number[];
  /** Pairs run per load, medians reported (default {@link DEFAULT_LOAD_ROUNDS}). */
  readonly loadRounds?: number;
  readonly runId: string;
  /** RabbitMQ: CloudEvents content modes to run, one after the other, on both sides (default binary). */
  readonly contentModes?: readonly ('binary' | 'structured')[];
}

/** Build the line from a framework run and the raw baseline of the same run; prints a human summary first. */
export function benchLine(
  transport: string,
  layout: Layout,
  messages: number,
  framework: RunResult,
  raw: RunResult,
  extra: Record<string, unknown> = {},
): BenchLine {
  console.log(
    `${transport} [${layout}]: framework ${framework.msgsPerSec} msgs/s (p50 ${framework.p50Ms} ms, p99 ${framework.p99Ms} ms, ${framework.cpuUsPerMsg} µs CPU/msg${machineNote(framework)}); raw ${raw.msgsPerSec} msgs/s (${raw.cpuUsPerMsg} µs CPU/msg${machineNote(raw)})`,
  );
  return {
    transport,
    layout,
    messages,
    framework_msgs_per_s: framework.msgsPerSec,
    raw_msgs_per_s: raw.msgsPerSec,
    ratio: round(framework.msgsPerSec / raw.msgsPerSec),
    p50_ms: framework.p50Ms,
    p99_ms: framework.p99Ms,
    cpu_us_per_msg: framework.cpuUsPerMsg,
    raw_cpu_us_per_msg: raw.cpuUsPerMsg,
    cpu_ratio: round(framework.cpuUsPerMsg / raw.cpuUsPerMsg),
    raw_p50_ms: raw.p50Ms,
    raw_p99_ms: raw.p99Ms,
    ...machineCpu(framework, raw),
    ...extra,
  };
}

/** Both sides' machine CPU per message (the broker's work included), when both runs measured it. */
function machineCpu(framework: RunResult, raw: RunResult): Record<string, number> {
  if (framework.machineCpuUsPerMsg === undefined || raw.machineCpuUsPerMsg === undefined) return {};
  return {
    machine_cpu_us_per_msg: framework.machineCpuUsPerMsg,
    raw_machine_cpu_us_per_msg: raw.machineCpuUsPerMsg,
  };
}

/** `, machine N µs` for a console line, when the run measured it. */
export function machineNote(result: RunResult): string {
  return result.machineCpuUsPerMsg === undefined ? '' : `, machine ${result.machineCpuUsPerMsg} µs`;
}

/** The machine CPU per message of both sides at one paced load, for a console line ('' without `/proc/stat`). */
function loadMachineNote(measured: LoadLatency): string {
  return measured.machine_cpu_us_per_msg === undefined
    ? ''
    : `, machine ${measured.machine_cpu_us_per_msg} vs ${measured.raw_machine_cpu_us_per_msg} µs`;
}

/** One round's numbers, kept in the JSON line for transparency. */
export interface Round {
  readonly framework: number;
  readonly raw: number;
  readonly ratio: number;
  readonly framework_cpu: number;
  readonly raw_cpu: number;
}

/**
 * Run framework and raw `rounds` times, alternating which goes first, and
 * pick the round with the median ratio: on a shared machine a single pair can
 * be off by 2x either way, while pairs run back to back see the same
 * conditions. The figures reported are those of the median round.
 */
export async function alternate(
  rounds: number,
  framework: (round: number) => Promise<RunResult>,
  raw: (round: number) => Promise<RunResult>,
): Promise<{ framework: RunResult; raw: RunResult; rounds: Round[] }> {
  const results: Array<{ framework: RunResult; raw: RunResult; ratio: number }> = [];
  for (let index = 0; index < Math.max(1, rounds); index++) {
    let f: RunResult;
    let r: RunResult;
    if (index % 2 === 0) {
      f = await framework(index);
      r = await raw(index);
    } else {
      r = await raw(index);
      f = await framework(index);
    }
    results.push({ framework: f, raw: r, ratio: f.msgsPerSec / r.msgsPerSec });
    console.log(
      `round ${index + 1}: framework ${f.msgsPerSec} msgs/s ${f.cpuUsPerMsg} µs/msg, raw ${r.msgsPerSec} msgs/s ${r.cpuUsPerMsg} µs/msg, ratio ${round(f.msgsPerSec / r.msgsPerSec)}`,
    );
  }
  const sorted = [...results].sort((a, b) => a.ratio - b.ratio);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as (typeof results)[number];
  return {
    framework: median.framework,
    raw: median.raw,
    rounds: results.map((x) => ({
      framework: x.framework.msgsPerSec,
      raw: x.raw.msgsPerSec,
      ratio: round(x.ratio),
      framework_cpu: x.framework.cpuUsPerMsg,
      raw_cpu: x.raw.cpuUsPerMsg,
    })),
  };
}

/** What a side (framework, raw, peer) is asked to run. */
export interface SideRun {
  readonly layout: Layout;
  readonly messages: number;
  /** Unique per run: names channels, queues and files. */
  readonly tag: string;
  readonly ratePerSec?: number;
}

export type Side = (run: SideRun) => Promise<RunResult>;

/**
 * The comparison every broker bench makes, once per layout: warm both sides
 * (`warm` full-size runs each), alternate `rounds` pairs, report the median
 * pair; then both sides at half the framework's peak rate (`half_load_*`),
 * and at `args.loads` fractions of it when asked, each the median of `args.loadRounds` pairs.
 */
export async function compareLayouts(
  transport: string,
  args: BenchArgs,
  sides: { framework: Side; raw: Side },
  options: { messages: number; warm?: number; halfLoad?: boolean; extra?: Record<string, unknown> },
): Promise<BenchLine[]> {
  const lines: BenchLine[] = [];
  const { messages } = options;
  for (const layout of args.layouts) {
    const tag = `${args.runId}-${layout === 'single-thread' ? 's' : 'w'}`;
    for (let warm = 0; warm < (options.warm ?? 1); warm++) {
      await sides.framework({ layout, messages, tag: `${tag}-fw${warm}` });
      await sides.raw({ layout, messages, tag: `${tag}-rw${warm}` });
    }
    const { framework, raw, rounds } = await alternate(
      args.rounds ?? DEFAULT_ROUNDS,
      (index) => sides.framework({ layout, messages, tag: `${tag}-f${index}` }),
      (index) => sides.raw({ layout, messages, tag: `${tag}-r${index}` }),
    );
    const extra: Record<string, unknown> = { ...options.extra };
    const loads = [...new Set([...(options.halfLoad ? [0.5] : []), ...(args.loads ?? [])])].sort();
    const latency: LoadLatency[] = [];
    for (const load of loads) {
      const measured = await measureLoad(
        load,
        Math.round(framework.msgsPerSec * load),
        args.loadRounds ?? DEFAULT_LOAD_ROUNDS,
        {
          framework: (ratePerSec, pair) =>
            sides.framework({ layout, messages, tag: `${tag}-fl${load}-${pair}`, ratePerSec }),
          raw: (ratePerSec, pair) => sides.raw({ layout, messages, tag: `${tag}-rl${load}-${pair}`, ratePerSec }),
        },
      );
      console.log(
        `${transport} [${layout}] at ${load * 100}% of peak (${measured.rate} msgs/s, median of ${measured.p99_ms_rounds.length}): framework p50 ${measured.p50_ms} ms p99 ${measured.p99_ms} ms (${measured.p99_ms_rounds.join(', ')}); raw p50 ${measured.raw_p50_ms} ms p99 ${measured.raw_p99_ms} ms (${measured.raw_p99_ms_rounds.join(', ')}); CPU/msg ${measured.cpu_us_per_msg} µs vs raw ${measured.raw_cpu_us_per_msg} µs${loadMachineNote(measured)}`,
      );
      latency.push(measured);
      if (load === 0.5) {
        extra.half_load_p50_ms = measured.p50_ms;
        extra.half_load_p99_ms = measured.p99_ms;
        extra.raw_half_load_p50_ms = measured.raw_p50_ms;
        extra.raw_half_load_p99_ms = measured.raw_p99_ms;
      }
    }
    if (args.loads?.length) extra.latency = latency;
    lines.push(benchLine(transport, layout, messages, framework, raw, { ...extra, rounds }));
  }
  return lines;
}

/** One run of a side that is a consumer and a producer (raw baselines, peers), through the shared loop. */
export function loopSide(
  run: SideRun,
  consumer: ConsumerSpec,
  producer: () => Promise<BenchProducer>,
  window: number,
): Promise<RunResult> {
  return runLoop({
    layout: run.layout,
    consumer,
    producer,
    messages: run.messages,
    window,
    ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
  });
}
