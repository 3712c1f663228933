import { describe, expect, it } from 'vitest';
import { benchLine, compareLayouts, type SideRun } from '../src/bench-line.js';
import { LAYOUTS, parseLayouts } from '../src/layout.js';
import { measureLoad } from '../src/load-latency.js';
import type { RunResult } from '../src/run-loop.js';

describe('parseLayouts', () => {
  it('runs both layouts by default and for "both", single-thread first', () => {
    expect(parseLayouts(undefined)).toEqual(['single-thread', 'consumer-worker']);
    expect(parseLayouts('both')).toEqual(LAYOUTS);
  });

  it('runs one layout when one is named', () => {
    expect(parseLayouts('single-thread')).toEqual(['single-thread']);
    expect(parseLayouts('consumer-worker')).toEqual(['consumer-worker']);
  });

  it('rejects anything else', () => {
    expect(() => parseLayouts('worker')).toThrow(/--layout/);
  });
});

describe('benchLine', () => {
  const framework: RunResult = { msgsPerSec: 9_000, p50Ms: 2, p99Ms: 8, cpuUsPerMsg: 60 };
  const raw: RunResult = { msgsPerSec: 10_000, p50Ms: 1, p99Ms: 4, cpuUsPerMsg: 40 };

  it('carries the layout, both sides and their ratios', () => {
    const line = benchLine('postgres', 'consumer-worker', 20_000, framework, raw, { claim: 100 });
    expect(line).toMatchObject({
      transport: 'postgres',
      layout: 'consumer-worker',
      messages: 20_000,
      framework_msgs_per_s: 9_000,
      raw_msgs_per_s: 10_000,
      ratio: 0.9,
      cpu_us_per_msg: 60,
      raw_cpu_us_per_msg: 40,
      cpu_ratio: 1.5,
      p99_ms: 8,
      raw_p99_ms: 4,
      claim: 100,
    });
  });
});

describe('compareLayouts', () => {
  it('runs both sides in each layout and prints one line per layout with the half-load latency of both', async () => {
    const calls: Array<{ side: string; run: SideRun }> = [];
    const side =
      (name: string, msgsPerSec: number, cpuUsPerMsg: number) =>
      async (run: SideRun): Promise<RunResult> => {
        calls.push({ side: name, run });
        // Below peak the p99 says which load it was measured at.
        const p99Ms = run.ratePerSec === undefined ? 50 : run.ratePerSec / 1_000;
        return { msgsPerSec: Math.min(msgsPerSec, run.ratePerSec ?? msgsPerSec), p50Ms: 1, p99Ms, cpuUsPerMsg };
      };
    const lines = await compareLayouts(
      'test',
      { runId: 'r1', layouts: ['single-thread', 'consumer-worker'], rounds: 3 },
      { framework: side('framework', 8_000, 30), raw: side('raw', 10_000, 20) },
      { messages: 100, halfLoad: true, extra: { batch: 7 } },
    );
    expect(lines.map((line) => line.layout)).toEqual(['single-thread', 'consumer-worker']);
    for (const line of lines) {
      expect(line).toMatchObject({
        ratio: 0.8,
        cpu_us_per_msg: 30,
        raw_cpu_us_per_msg: 20,
        cpu_ratio: 1.5,
        half_load_p99_ms: 4,
        raw_half_load_p99_ms: 4,
        batch: 7,
      });
      expect(line.rounds).toHaveLength(3);
    }
    // Per layout: a warm run and 3 rounds per side, then three half-load runs per side, at 4,000 msgs/s.
    for (const layout of ['single-thread', 'consumer-worker'] as const) {
      const mine = calls.filter((call) => call.run.layout === layout);
      expect(mine.filter((call) => call.side === 'framework')).toHaveLength(7);
      expect(mine.filter((call) => call.side === 'raw')).toHaveLength(7);
      expect(mine.filter((call) => call.run.ratePerSec === 4_000)).toHaveLength(6);
    }
    expect(new Set(calls.map((call) => call.run.tag)).size).toBe(calls.length);
  });

  it('fails when a side runs faster than the load it was asked for (it dropped ratePerSec)', async () => {
    const closedLoop = async (): Promise<RunResult> => ({ msgsPerSec: 8_000, p50Ms: 40, p99Ms: 80, cpuUsPerMsg: 30 });
    const pacedSide = async (run: SideRun): Promise<RunResult> => ({
      msgsPerSec: run.ratePerSec ?? 10_000,
      p50Ms: 1,
      p99Ms: 4,
      cpuUsPerMsg: 20,
    });
    await expect(
      compareLayouts(
        'test',
        { runId: 'r2', layouts: ['single-thread'], rounds: 1 },
        { framework: closedLoop, raw: pacedSide },
        { messages: 100, halfLoad: true },
      ),
    ).rejects.toThrow('the framework side ran at 8000 msgs/s when asked for 4000: it ignores ratePerSec');
  });
});

describe('measureLoad', () => {
  it('reports the median p50, p99 and CPU per message of each side over its pairs, and every p99', async () => {
    const p99s = { framework: [5, 50, 7], raw: [9, 4, 120] };
    const order: string[] = [];
    const side =
      (name: 'framework' | 'raw') =>
      async (ratePerSec: number, pair: number): Promise<RunResult> => {
        order.push(`${name}${pair}`);
        const cpu = name === 'framework' ? [30, 10, 20] : [8, 9, 40];
        return {
          msgsPerSec: ratePerSec,
          p50Ms: pair + 1,
          p99Ms: p99s[name][pair] ?? 0,
          cpuUsPerMsg: cpu[pair] ?? 0,
          machineCpuUsPerMsg: (cpu[pair] ?? 0) * 3,
        };
      };
    const measured = await measureLoad(0.5, 2_000, 3, { framework: side('framework'), raw: side('raw') });
    expect(measured).toEqual({
      load: 0.5,
      rate: 2_000,
      p50_ms: 2,
      p99_ms: 7,
      raw_p50_ms: 2,
      raw_p99_ms: 9,
      p99_ms_rounds: [5, 50, 7],
      raw_p99_ms_rounds: [9, 4, 120],
      cpu_us_per_msg: 20,
      raw_cpu_us_per_msg: 9,
      machine_cpu_us_per_msg: 60,
      raw_machine_cpu_us_per_msg: 27,
    });
    // Alternating which side goes first, as the peak rounds do.
    expect(order).toEqual(['framework0', 'raw0', 'raw1', 'framework1', 'framework2', 'raw2']);
  });
});
