import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { busyMicrosOf, machineBusyMicros } from '../src/machine-cpu.js';

describe('busyMicrosOf', () => {
  it('adds user, nice, system, irq, softirq and steal ticks of the aggregate line, 10 ms each', () => {
    const stat = 'cpu  100 1 20 5000 7 2 3 4 0 0\ncpu0 50 0 10 2500 3 1 1 2 0 0\n';
    expect(busyMicrosOf(stat)).toBe((100 + 1 + 20 + 2 + 3 + 4) * 10_000);
  });

  it('is undefined for text without the aggregate line or with a field that is not a number', () => {
    expect(busyMicrosOf('intr 1 2 3\n')).toBeUndefined();
    expect(busyMicrosOf('cpu 1 2 3\n')).toBeUndefined();
    expect(busyMicrosOf('cpu 1 x 3 4 5 6 7 8 0 0\n')).toBeUndefined();
  });
});

describe.skipIf(!existsSync('/proc/stat'))('machineBusyMicros', () => {
  it('grows with the CPU this process burns between two readings', () => {
    const before = machineBusyMicros();
    const cpuBefore = process.cpuUsage();
    const until = performance.now() + 300;
    while (performance.now() < until) Math.sqrt(Math.random());
    const cpu = process.cpuUsage(cpuBefore);
    const after = machineBusyMicros();
    expect(before).toBeDefined();
    expect(after).toBeDefined();
    // The kernel charges /proc/stat by 10 ms ticks, sampled, while cpuUsage is exact: half is room
    // enough for that, and still fails a reading of the wrong fields (idle) or of nothing.
    expect((after as number) - (before as number)).toBeGreaterThanOrEqual((cpu.user + cpu.system) / 2);
  });
});
