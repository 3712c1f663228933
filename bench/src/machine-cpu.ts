import { readFileSync } from 'node:fs';

/**
 * Busy CPU time of the whole machine (every process and core: the broker's
 * work included) in µs since boot, from Linux's `/proc/stat`; `undefined`
 * where there is no such file (macOS, Windows) or it cannot be read.
 *
 * Why: a process's own CPU per message leaves out what its messages cost the
 * broker on the same machine, with which it shares the cores. The difference of two
 * readings around a run, divided by its messages, is the machine's CPU per
 * message; minus the process's own, what the broker (and anything else
 * running) spent. Resolution is one clock tick per core (10 ms at the usual
 * USER_HZ of 100), well below a run's total. Never throws.
 */
export function machineBusyMicros(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/stat', 'latin1');
  } catch {
    return undefined;
  }
  return busyMicrosOf(text);
}

/** `/proc/stat`'s fixed tick length: USER_HZ is 100 on every Linux architecture Node runs on. */
const MICROS_PER_TICK = 10_000;

/**
 * The busy µs in the aggregate `cpu` line of a `/proc/stat` text: user, nice,
 * system, irq, softirq and steal (guest time is already inside user and nice;
 * idle and iowait are not busy). `undefined` when the line is missing or malformed.
 */
export function busyMicrosOf(procStat: string): number | undefined {
  const line = procStat.split('\n', 1)[0] ?? '';
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 9) return undefined;
  // user nice system idle iowait irq softirq steal: every one but idle and iowait is busy.
  const ticks = fields.slice(1, 9).map(Number);
  if (ticks.some((value) => !Number.isFinite(value))) return undefined;
  const busy = ticks.reduce((sum, value, index) => (index === 3 || index === 4 ? sum : sum + value), 0);
  return busy * MICROS_PER_TICK;
}
