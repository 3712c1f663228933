import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** A server the benchmark started as a child process on 127.0.0.1; `stop` ends it. */
export interface LocalServer {
  readonly address: string;
  stop(): Promise<void>;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The fauxqs SQS/SNS emulator in its own process (so its CPU is not the framework's), on a free loopback port. */
export function startSqsEmulator(): Promise<LocalServer> {
  const script = [
    "import { buildApp } from 'fauxqs';",
    'const app = buildApp({ logger: false });',
    "await app.listen({ port: 0, host: '127.0.0.1' });",
    'console.log(app.server.address().port);',
    "process.stdin.on('end', () => process.exit(0)); process.stdin.resume();",
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return firstLine(child, 'the SQS emulator (fauxqs)').then((port) => ({
    address: `127.0.0.1:${port}`,
    stop: () => end(child),
  }));
}

/** librdkafka's mock cluster (3 brokers on 127.0.0.1), built by scripts/kafka-mock/build.sh. */
export async function startKafkaMock(): Promise<LocalServer> {
  const { stdout } = await promisify(execFile)('bash', [resolve(root, 'scripts/kafka-mock/build.sh')], { cwd: root });
  const binary = stdout.trim().split('\n').pop() ?? '';
  const child = spawn(binary, ['3'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const brokers = await firstLine(child, 'the Kafka mock cluster');
  return { address: brokers, stop: () => end(child) };
}

function firstLine(child: ChildProcess, what: string): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 15 s`)), 15_000);
    child.once('exit', (code) => reject(new Error(`${what} exited with ${String(code)}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout?.removeAllListeners('data');
      resolveLine(text.slice(0, newline).trim());
    });
  });
}

function end(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.stdin?.end();
    setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
  });
}
