import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { round } from './run-loop.js';
import { parseTelemetryMode, type TelemetryMode } from './telemetry-mode.js';

/**
 * `--telemetry off,sdk` (two or more modes, comma-separated): the telemetry
 * modes side by side in one invocation. Each mode needs its own process (an
 * SDK, once installed globally, and its context manager's async hooks stay
 * for the life of the process, so an `off` run after an `sdk` run would not
 * be untraced), so every round runs the benchmark once per mode in a child
 * process (`--rounds 1`, the other options unchanged), rotating which mode
 * goes first, one after the other on the same machine: the modes of one
 * round see the same load. Per layout the line carries, per mode, the median
 * CPU µs per message and every round's figure, and per mode after the first
 * the median of the per-round ratios to the first mode (same round, so load
 * swings cancel out) and its extra µs per message.
 */
export function parseTelemetryModes(text: string): TelemetryMode[] {
  const modes = text.split(',').map((mode) => parseTelemetryMode(mode.trim()));
  if (new Set(modes).size !== modes.length) throw new Error(`--telemetry: each mode once, got ${text}`);
  return modes;
}

/** One child's result line, as much of it as the comparison reads. */
interface ChildLine {
  readonly transport: string;
  readonly layout: string;
  readonly messages: number;
  readonly cpu_us_per_msg: number;
  readonly raw_cpu_us_per_msg: number;
  readonly framework_msgs_per_s: number;
  readonly p50_ms: number;
  readonly p99_ms: number;
  readonly [extra: string]: unknown;
}

/**
 * Run `rounds` rounds of every mode in `modes` (child processes of this
 * script with `childArgs` and `--telemetry <mode> --rounds 1`) and return one
 * comparison line per layout. Rejects when a child fails or prints no result.
 */
export async function compareTelemetry(
  modes: readonly TelemetryMode[],
  rounds: number,
  childArgs: readonly string[],
): Promise<Record<string, unknown>[]> {
  // results[round][mode] = the child's lines, one per layout
  const results: Array<Map<TelemetryMode, ChildLine[]>> = [];
  for (let index = 0; index < Math.max(1, rounds); index++) {
    const order = modes.map((_, at) => modes[(at + index) % modes.length] as TelemetryMode);
    const byMode = new Map<TelemetryMode, ChildLine[]>();
    for (const mode of order) byMode.set(mode, await runChild(mode, childArgs));
    results.push(byMode);
    const summary = modes
      .map((mode) => `${mode} ${(byMode.get(mode) ?? []).map((line) => line.cpu_us_per_msg).join('/')} µs/msg`)
      .join(', ');
    console.log(`telemetry round ${index + 1} (${order.join(' → ')}): ${summary}`);
  }
  const first = results[0]?.get(modes[0] as TelemetryMode) ?? [];
  return first.map((template, at) => {
    const of = (mode: TelemetryMode) =>
      results.map((byMode) => {
        const line = byMode.get(mode)?.[at];
        if (line === undefined || line.layout !== template.layout)
          throw new Error(`telemetry ${mode}: no ${template.layout} line in a round`);
        return line;
      });
    const base = modes[0] as TelemetryMode;
    const baseLines = of(base);
    const summaries = modes.map((mode) => {
      const lines = of(mode);
      const ratios = lines.map((line, r) => line.cpu_us_per_msg / (baseLines[r] as ChildLine).cpu_us_per_msg);
      const extra = lines.map((line, r) => line.cpu_us_per_msg - (baseLines[r] as ChildLine).cpu_us_per_msg);
      const summary = {
        cpu_us_per_msg: median(lines.map((line) => line.cpu_us_per_msg)),
        raw_cpu_us_per_msg: median(lines.map((line) => line.raw_cpu_us_per_msg)),
        framework_msgs_per_s: median(lines.map((line) => line.framework_msgs_per_s)),
        p50_ms: median(lines.map((line) => line.p50_ms)),
        p99_ms: median(lines.map((line) => line.p99_ms)),
        ...(mode === base
          ? {}
          : { [`cpu_ratio_to_${base}`]: median(ratios), [`extra_us_per_msg_over_${base}`]: median(extra) }),
        rounds_cpu_us_per_msg: lines.map((line) => line.cpu_us_per_msg),
        // Spans the exporter got by the end of each child (the batch processor drops spans when its queue is full).
        ...(lines.some((line) => typeof line.exported_spans === 'number')
          ? { rounds_exported_spans: lines.map((line) => line.exported_spans) }
          : {}),
      };
      return [mode, summary] as const;
    });
    return {
      transport: template.transport,
      layout: template.layout,
      messages: template.messages,
      telemetry: modes.join(','),
      rounds: results.length,
      cpu_us_per_msg_by_mode: Object.fromEntries(summaries.map(([mode, summary]) => [mode, summary.cpu_us_per_msg])),
      modes: Object.fromEntries(summaries),
    };
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return round(value);
}

/** One child run: its human lines forwarded with a `[mode]` prefix, its JSON result lines returned. */
function runChild(mode: TelemetryMode, childArgs: readonly string[]): Promise<ChildLine[]> {
  const script = fileURLToPath(new URL('./main.js', import.meta.url));
  const args = [...process.execArgv, script, ...childArgs, '--telemetry', mode, '--rounds', '1'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: ChildLine[] = [];
    let pending = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        if (line.startsWith('{')) lines.push(JSON.parse(line) as ChildLine);
        else console.log(`[${mode}] ${line}`);
        newline = pending.indexOf('\n');
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`bench --telemetry ${mode} exited with ${code}`));
      else if (lines.length === 0) reject(new Error(`bench --telemetry ${mode} printed no result line`));
      else resolve(lines);
    });
  });
}
