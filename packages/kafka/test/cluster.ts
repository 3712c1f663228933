import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Test-only: a librdkafka mock cluster (3 brokers on 127.0.0.1) in a child
 * process, built from scripts/kafka-mock by its build script on first use.
 * One per test file; it dies with the test worker (its stdin closes).
 */
export interface MockCluster {
  readonly brokers: readonly string[];
  /** Take every broker down and up again: every client connection is closed. */
  dropConnections(): Promise<void>;
  stop(): Promise<void>;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const INSTALL_HINT = 'apt-get install -y gcc librdkafka-dev';

/**
 * {@link startMockCluster} for a test file that must still register its tests
 * when the cluster cannot start: resolves with the cluster, or with the reason
 * (for the file's skip line, or its failure under SWITCHYARD_REQUIRE_BROKERS).
 */
export async function tryStartMockCluster(): Promise<{ cluster?: MockCluster; failure?: unknown }> {
  try {
    return { cluster: await startMockCluster() };
  } catch (failure) {
    return { failure };
  }
}

/** Build (if needed) and start the mock; rejects with a message that names the apt packages when it cannot. */
export async function startMockCluster(): Promise<MockCluster> {
  let binary: string;
  try {
    const { stdout } = await promisify(execFile)('bash', [resolve(root, 'scripts/kafka-mock/build.sh')], { cwd: root });
    binary = stdout.trim().split('\n').pop() ?? '';
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(
      `cannot build the librdkafka mock cluster (${stderr || String(error)}); install its build deps: ${INSTALL_HINT}`,
    );
  }
  const child = spawn(binary, ['3'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const brokers = await readBootstraps(child);
  let stopped: Promise<void> | undefined;
  let pendingLine = '';
  const lineWaiters: Array<(line: string) => void> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    pendingLine += chunk.toString('utf8');
    for (let nl = pendingLine.indexOf('\n'); nl >= 0; nl = pendingLine.indexOf('\n')) {
      const line = pendingLine.slice(0, nl).trim();
      pendingLine = pendingLine.slice(nl + 1);
      lineWaiters.shift()?.(line);
    }
  });
  return {
    brokers,
    dropConnections: async () => {
      const answer = new Promise<string>((resolveLine) => lineWaiters.push(resolveLine));
      child.stdin?.write('drop\n');
      const line = await answer;
      if (line !== 'dropped') throw new Error(`mock cluster answered '${line}' to drop`);
    },
    stop: () => {
      stopped ??= new Promise<void>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.stdin?.end();
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      });
      return stopped;
    },
  };
}

function readBootstraps(child: ChildProcess): Promise<string[]> {
  return new Promise((resolveBrokers, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the librdkafka mock cluster printed no bootstrap servers within 10 s'));
    }, 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start the librdkafka mock cluster: ${error.message}; ${INSTALL_HINT}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the librdkafka mock cluster exited with ${String(code)} before it was ready`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      const brokers = text.slice(0, newline).trim().split(',').filter(Boolean);
      if (!brokers.every((b) => b.startsWith('127.0.0.1:'))) {
        child.kill('SIGKILL');
        reject(new Error(`the mock cluster must listen on 127.0.0.1 only, it printed ${text.slice(0, newline)}`));
        return;
      }
      child.removeAllListeners('exit');
      child.stdout?.removeAllListeners('data');
      resolveBrokers(brokers);
    });
  });
}

/** Options for fast group joins on the mock: short sessions and heartbeats, quick retries. */
export const FAST_GROUPS = {
  sessionTimeoutMs: 3000,
  rebalanceTimeoutMs: 3000,
  heartbeatIntervalMs: 300,
  maxWaitTimeMs: 100,
  retry: { retries: 8, initialRetryTimeMs: 50, maxRetryTimeMs: 1000 },
} as const;

/** A short random suffix for unique names. */
export function unique(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}
