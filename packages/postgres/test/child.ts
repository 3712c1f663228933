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
  connectionString: string,
  schema: string,
  channel: string,
  leaseMs: number,
  concurrency = 8,
  delayMs = 0,
): ConsumerChild {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      CHILD,
      connectionString,
      schema,
      channel,
      String(leaseMs),
      String(concurrency),
      String(delayMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
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
