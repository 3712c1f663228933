import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('graceful shutdown on SIGTERM', () => {
  it('stops fetching, finishes the handler in flight, then exits', async () => {
    const script = fileURLToPath(new URL('./fixtures/sigterm-service.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    let buffer = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no handler started; output: ${lines.join(' | ')}`)), 20_000);
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const parts = buffer.split('\n');
        buffer = parts.pop() ?? '';
        lines.push(...parts);
        if (lines.includes('started 1')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    const { signal } = await exited;
    expect(lines).toContain('finished 1');
    expect(lines).toContain('acked 1');
    expect(lines).not.toContain('started 2');
    expect(signal === 'SIGTERM' || lines.at(-1) === 'exit 0').toBe(true);
  });
});
