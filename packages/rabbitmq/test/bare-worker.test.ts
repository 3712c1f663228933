import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createService, defineCommand } from '@switchyard/core';
import { brokerReachable, TcpProxy, waitFor } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deleteObjects, probeRabbit, RABBIT_URL, unique } from './helpers.js';

const Job = defineCommand('bare.job', z.object({ n: z.number() }));
const OUTAGE_MS = 5_000;

/** The worker's stdout, line by line: plain lines and the `msg` of pino's JSON lines. */
class Output {
  readonly lines: string[] = [];

  constructor(child: ChildProcessByStdio<null, Readable, null>) {
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) this.lines.push(messageOf(line));
    });
  }

  has(line: string | RegExp): boolean {
    return this.lines.some((entry) => (typeof line === 'string' ? entry === line : line.test(entry)));
  }
}

function messageOf(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const entry = JSON.parse(line) as { msg?: string; downMs?: number };
    return entry.msg ?? line;
  } catch {
    return line;
  }
}

describe('a bare RabbitMQ worker process survives a broker outage', () => {
  let reachable = false;
  const exchange = unique('sy-bare-x');
  const service = unique('bare-worker');
  let proxy: TcpProxy;

  beforeAll(async () => {
    reachable = await brokerReachable('RabbitMQ', probeRabbit);
    const target = new URL(RABBIT_URL);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5672) });
  });
  afterAll(async () => {
    await proxy.close();
    if (reachable) await deleteObjects([service, `${exchange}.topology.${service}`], [exchange, `${exchange}.delay`]);
  });

  it('stays alive through a 5 s cut, reconnects, handles a later message, and exits 0 only on SIGTERM', async (test) => {
    if (!reachable) test.skip('RabbitMQ is unreachable');
    const viaProxy = new URL(RABBIT_URL);
    viaProxy.host = proxy.address;
    viaProxy.searchParams.set('exchange', exchange);
    const script = fileURLToPath(new URL('./fixtures/bare-worker.ts', import.meta.url));
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        WORKER_AMQP_URL: viaProxy.toString(),
        WORKER_SERVICE: service,
        SWITCHYARD_LOG_LEVEL: 'info',
      },
    });
    const out = new Output(child);
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exited = new Promise<void>((resolve) =>
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        resolve();
      }),
    );
    // The sender talks to the broker directly, not through the proxy.
    const sender = createService({
      name: unique('bare-sender'),
      transport: `${RABBIT_URL}?exchange=${exchange}`,
      handleSignals: false,
    });
    try {
      await waitFor(() => out.has('started') || exit !== undefined, 'the worker to start', 20_000);
      expect(exit).toBeUndefined();
      await sender.distributedBus.sendCommand(service, Job, { n: 1 });
      await waitFor(() => out.has('handled 1'), 'the first job', 10_000);

      const cutAt = Date.now();
      await proxy.refuse(OUTAGE_MS);
      await waitFor(() => out.has('lost the connection to the broker'), 'the worker to log the loss', 5_000);
      await waitFor(() => out.has('retrying the connection to the broker with backoff'), 'the retry line', 5_000);
      // Sent while the worker cannot reach the broker: it waits in the worker's queue.
      await sender.distributedBus.sendCommand(service, Job, { n: 2 });
      await waitFor(() => out.has(/^reconnected to the broker after/) || exit !== undefined, 'the reconnect', 20_000);
      expect(exit, 'the worker exited during the outage').toBeUndefined();
      expect(Date.now() - cutAt).toBeGreaterThanOrEqual(OUTAGE_MS);
      await waitFor(() => out.has('handled 2'), 'the job sent during the outage', 10_000);
      await sender.distributedBus.sendCommand(service, Job, { n: 3 });
      await waitFor(() => out.has('handled 3'), 'the job sent after the reconnect', 10_000);
      // Each state change is logged once, not once per attempt.
      expect(out.lines.filter((line) => line === 'lost the connection to the broker')).toHaveLength(1);
      expect(out.lines.filter((line) => line === 'retrying the connection to the broker with backoff')).toHaveLength(1);
      expect(exit).toBeUndefined();

      child.kill('SIGTERM');
      await exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(out.has('service stopped')).toBe(true);
    } finally {
      if (exit === undefined) child.kill('SIGKILL');
      await sender.stop();
    }
  }, 90_000);
});
