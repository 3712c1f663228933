import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createService, defineCommand, ErrorCode, InMemoryInboxStore } from '@switchyard/core';
import { waitFor } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SqliteInboxStore } from '../src/index.js';
import { channelName, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const Charge = defineCommand('payment.charge', z.object({ n: z.number().int() }));
const TOTAL = 1_000;
const KILL_AT = 300;
const script = fileURLToPath(new URL('./fixtures/transactional-consumer.ts', import.meta.url));

function startConsumer(path: string, name: string, killAt: number): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', script, path, name, String(killAt)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let buffer = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.on('exit', (code, signal) => reject(new Error(`consumer exited (${code ?? signal}) before it was ready`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      if (buffer.includes('ready\n')) resolve();
    });
  });
  ready.catch(() => undefined);
  return { child, ready };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

describe('transactional inbox on SQLite', () => {
  it('a kill between the side effect and the inbox record cannot repeat the side effect', async () => {
    const path = tmp.file();
    const name = channelName('payments');
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE IF NOT EXISTS effects (n INTEGER)');
    const count = (sql: string, ...args: unknown[]) =>
      db
        .prepare(sql)
        .pluck()
        .get(...args) as number;
    const producer = createService({
      name: channelName('checkout'),
      transport: `sqlite:${path}`,
      handleSignals: false,
    });
    await producer.start();
    await Promise.all(
      Array.from({ length: TOTAL }, (_, n) => producer.distributedBus.sendCommand(name, Charge, { n })),
    );

    const first = startConsumer(path, name, KILL_AT);
    await exited(first.child);
    expect(first.child.signalCode).toBe('SIGKILL');
    // The side effect of the command it died in was written, then rolled back with its open transaction.
    expect(count('SELECT count(*) FROM effects WHERE n = ?', KILL_AT)).toBe(0);
    const beforeKill = count('SELECT count(*) FROM effects');

    const second = startConsumer(path, name, -1);
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
    console.log(
      `[sqlite transactional inbox crash test] commands=${TOTAL} handled before SIGKILL=${beforeKill} distinct handled=${distinct} lost=${TOTAL - distinct} duplicate side effects=${rows - distinct}`,
    );
    db.close();
    expect(beforeKill).toBeGreaterThan(0);
    expect(distinct).toBe(TOTAL);
    expect(rows - distinct).toBe(0);
  }, 120_000);

  it('a handler that throws rolls back its writes together with the record; the retry then commits once', async () => {
    const path = tmp.file();
    const inbox = new SqliteInboxStore(path);
    const db = new Database(path);
    db.exec('CREATE TABLE effects (n INTEGER)');
    const name = channelName('retrying');
    let calls = 0;
    const service = createService({
      name,
      transport: `sqlite:${path}`,
      inbox,
      handleSignals: false,
      retry: { instantRetries: 1, delayedRetries: 0 },
    });
    service.handle(
      Charge,
      (command, context) => {
        (context.transaction as Database.Database).prepare('INSERT INTO effects (n) VALUES (?)').run(command.n);
        if (++calls === 1) throw new Error('first attempt fails after its write');
      },
      { distributed: true, transactionalInbox: true },
    );
    await service.start();
    try {
      await service.distributedBus.sendCommand(name, Charge, { n: 7 });
      await waitFor(() => calls === 2, 'the retry', 10_000);
      await service.whenIdle();
      expect(db.prepare('SELECT count(*) FROM effects').pluck().get()).toBe(1);
    } finally {
      await service.stop();
      await inbox.close();
      db.close();
    }
  });

  it('start() refuses a transactionalInbox handler when the inbox store cannot run one transaction', async () => {
    const service = createService({
      name: 'no-tx',
      transport: 'memory://no-tx',
      inbox: new InMemoryInboxStore(),
      handleSignals: false,
    });
    service.handle(Charge, () => undefined, { distributed: true, transactionalInbox: true });
    await expect(service.start()).rejects.toMatchObject({
      code: ErrorCode.Configuration,
      message: expect.stringContaining("handler 'payment.charge' asks for transactionalInbox"),
    });
  });
});
