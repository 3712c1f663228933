import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isReport, type Report } from './protocol.js';

/** One service process. */
export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Fork `src/services/<module>` (or its built `.js`) as a separate OS process,
 * with the launcher's own loader flags, so the same code runs from `dist/` and
 * from TypeScript sources under tsx. Reports from the child go to `onReport`.
 */
export function forkService(
  name: string,
  module: string,
  env: NodeJS.ProcessEnv,
  onReport: (report: Report) => void,
): ServiceProcess {
  const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const path = fileURLToPath(new URL(`./services/${module}${extension}`, import.meta.url));
  const child = fork(path, [], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.execArgv,
  });
  child.on('message', (message) => {
    if (isReport(message)) onReport(message);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { name, child, exited };
}

/**
 * Stop every process with SIGTERM (each service stops gracefully: stops
 * fetching, finishes in-flight handlers, closes) and wait for them. A process
 * still alive after `timeoutMs` is killed. Resolves with one line per process
 * that did not exit cleanly (code 0); empty when all did.
 */
export async function stopServices(processes: readonly ServiceProcess[], timeoutMs: number): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(
    processes.map(async ({ name, child, exited }) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      const result = await Promise.race([exited, late]);
      clearTimeout(timer);
      if (result === 'late') {
        child.kill('SIGKILL');
        problems.push(`${name} did not stop within ${timeoutMs} ms after SIGTERM and was killed`);
        await exited;
      } else if (result.code !== 0) {
        problems.push(`${name} exited with ${result.signal ?? `code ${result.code}`}`);
      }
    }),
  );
  return problems;
}
