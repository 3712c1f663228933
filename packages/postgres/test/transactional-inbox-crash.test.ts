import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createService, defineCommand } from '@switchyard/core';
import { brokerReachable } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);
const Charge = defineCommand('payment.charge', z.object({ n: z.number().int() }));
const TOTAL = 5_000;
const KILL_AFTER = 1_500;
const script = fileURLToPath(new URL('./fixtures/transactional-consumer.ts', import.meta.url));

function startConsumer(args: string[]): { child: ChildProcess; lines: string[]; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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
  ready.catch(() => undefined);
  return { child, lines, ready };
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) =>
    child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()),
  );

describe.runIf(reachable)(
  'a handler with the PostgreSQL transactional inbox, killed after its commit and before the ack',
  () => {
    const pool = testPool();
    const schema = uniqueSchema('txinbox_crash');
    const dir = mkdtempSync(join(tmpdir(), 'sy-pg-txinbox-'));
    afterAll(async () => {
      await dropSchemas(pool, [schema]);
      await pool.end();
      rmSync(dir, { recursive: true, force: true });
    });

    it(`produces exactly one row per message over ${TOTAL.toLocaleString('en')} commands`, async () => {
      const sqlitePath = join(dir, 'broker.db');
      const name = `payments_${schema}`;
      await pool.query(`CREATE SCHEMA "${schema}"`);
      // No unique constraint: a repeated side effect would show as a second row.
      await pool.query(`CREATE TABLE "${schema}".effects (n int NOT NULL)`);
      const count = async (sql: string) => (await pool.query(sql)).rows[0].n as number;
      const producer = createService({
        name: `checkout_${schema}`,
        transport: `sqlite:${sqlitePath}`,
        handleSignals: false,
      });
      await producer.start();
      const args = [POSTGRES_URL, schema, sqlitePath, name];
      try {
        for (let from = 0; from < TOTAL; from += 500) {
          await Promise.all(
            Array.from({ length: 500 }, (_, i) => producer.distributedBus.sendCommand(name, Charge, { n: from + i })),
          );
        }

        const first = startConsumer([...args, String(KILL_AFTER)]);
        await first.ready;
        await exited(first.child);
        expect(first.child.signalCode).toBe('SIGKILL');
        const beforeKill = await count(`SELECT count(*)::int AS n FROM "${schema}".effects`);

        const second = startConsumer([...args, '0']);
        try {
          await second.ready;
          await expect
            .poll(() => count(`SELECT count(DISTINCT n)::int AS n FROM "${schema}".effects`), { timeout: 90_000 })
            .toBe(TOTAL);
        } finally {
          second.child.kill('SIGTERM');
          await exited(second.child);
        }
        const rows = await count(`SELECT count(*)::int AS n FROM "${schema}".effects`);
        const distinct = await count(`SELECT count(DISTINCT n)::int AS n FROM "${schema}".effects`);
        const inboxRows = await count(`SELECT count(*)::int AS n FROM "${schema}".sy_inbox`);
        const suppressed = second.lines.filter((line) => line === 'dup').length;
        console.log(
          `[postgres transactional inbox crash test] commands=${TOTAL} committed before SIGKILL=${beforeKill} rows=${rows} distinct=${distinct} inbox rows=${inboxRows} lost=${TOTAL - distinct} redeliveries of committed messages suppressed=${suppressed} duplicate side effects=${rows - distinct}`,
        );
        expect(beforeKill).toBeGreaterThanOrEqual(KILL_AFTER);
        expect(suppressed).toBeGreaterThan(0);
        expect(distinct).toBe(TOTAL);
        expect(rows).toBe(TOTAL);
        expect(inboxRows).toBe(TOTAL);
      } finally {
        await producer.stop();
      }
    }, 180_000);
  },
);
