import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createService, defineCommand } from '@switchyard/core';
import { waitFor } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { channelName, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const Charge = defineCommand('payment.charge', z.object({ n: z.number().int() }));
const TOTAL = 5_000;
const script = fileURLToPath(new URL('./fixtures/inbox-consumer.ts', import.meta.url));

function startConsumer(
  path: string,
  name: string,
  killAfter: number,
): { child: ChildProcess; lines: string[]; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', script, path, name, String(killAfter)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  let buffer = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.on('exit', (code, signal) => reject(new Error(`consumer exited (${code ?? signal}) before it was ready`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts);
      if (parts.includes('ready')) resolve();
    });
  });
  return { child, lines, ready };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

describe('a consumer service killed mid-stream, with the SQLite inbox', () => {
  it('handles every one of 5,000 commands after a restart; the inbox suppresses the redeliveries', async () => {
    const path = tmp.file();
    const name = channelName('payments');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS effects (n INTEGER)');
    const count = (sql: string) => db.prepare(sql).pluck().get() as number;
    const producer = createService({
      name: channelName('checkout'),
      transport: `sqlite:${path}`,
      handleSignals: false,
    });
    await producer.start();
    await Promise.all(
      Array.from({ length: TOTAL }, (_, n) => producer.distributedBus.sendCommand(name, Charge, { n })),
    );

    // The first consumer SIGKILLs itself right after its 1,500th inbox record, before that message's ack.
    const first = startConsumer(path, name, 1_500);
    await first.ready;
    await exited(first.child);
    expect(first.child.signalCode).toBe('SIGKILL');
    const beforeKill = count('SELECT count(*) FROM effects');

    const second = startConsumer(path, name, 0);
    try {
      await second.ready;
      await waitFor(() => count('SELECT count(DISTINCT n) FROM effects') === TOTAL, 'every command handled', 60_000);
      await waitFor(() => count('SELECT count(*) FROM sy_messages') === 0, 'the inbox channel empty', 20_000);
    } finally {
      second.child.kill('SIGTERM');
      await exited(second.child);
      await producer.stop();
    }
    const rows = count('SELECT count(*) FROM effects');
    const distinct = count('SELECT count(DISTINCT n) FROM effects');
    const suppressed = second.lines.filter((line) => line.startsWith('dup ')).length;
    console.log(
      `[sqlite inbox crash test] commands=${TOTAL} handled before SIGKILL=${beforeKill} distinct handled=${distinct} lost=${TOTAL - distinct} redeliveries suppressed by the inbox=${suppressed} duplicate side effects=${rows - distinct}`,
    );
    db.close();
    expect(distinct).toBe(TOTAL);
    expect(suppressed).toBeGreaterThan(0);
    // A side effect repeats only if the kill fell between a handler's write and its inbox record: at most the handlers in flight.
    expect(rows - distinct).toBeLessThanOrEqual(8);
  });
});
