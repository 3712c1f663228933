import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./fixtures/consume-child.ts', import.meta.url));

/** A consumer child process and the lines it printed. */
export interface ConsumerChild {
  readonly process: ChildProcess;
  readonly handled: Array<{ id: string; count: number }>;
  readonly ready: Promise<void>;
  readonly exited: Promise<number | null>;
}

/** Start `fixtures/consume-child.ts` under tsx with the `source` condition, as a real separate process. */
export function startConsumer(
  path: string,
  channel: string,
  leaseMs: number,
  concurrency = 8,
  delayMs = 0,
): ConsumerChild {
  return startConsumerScript(CHILD, [path, channel, String(leaseMs), String(concurrency), String(delayMs)]);
}

/**
 * Start `script` under tsx with the `source` condition and `args`, reading its stdout: a line
 * `ready` resolves `ready`, a line `H <id> <count>` is appended to `handled`. Shared by the
 * transports' cross-process crash tests.
 */
export function startConsumerScript(script: string, args: readonly string[]): ConsumerChild {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const handled: Array<{ id: string; count: number }> = [];
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  let rest = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    rest += chunk;
    const lines = rest.split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') markReady();
      else if (line.startsWith('H ')) {
        const [, id, count] = line.split(' ');
        handled.push({ id: id!, count: Number(count) });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, handled, ready, exited };
}
