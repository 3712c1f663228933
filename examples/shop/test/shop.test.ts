import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transportFromUrl } from '@switchyard/core';
import { SqliteDeadLetterStore } from '@switchyard/sqlite';
import { brokerReachable } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'switchyard-shop-'));
const AMQP = 'amqp://127.0.0.1';
const POSTGRES = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// A schema of this run's own, dropped afterwards: the database is shared with other suites.
const POSTGRES_SCHEMA = `sy_shop_${process.pid}_${Date.now().toString(36)}`;
const rabbitReachable = await brokerReachable(`RabbitMQ at ${AMQP}`, async () => {
  const transport = await transportFromUrl(AMQP);
  try {
    await transport.ping();
  } finally {
    await transport.close();
  }
});

const postgresReachable = await brokerReachable(`PostgreSQL at ${POSTGRES}`, async () => {
  const transport = await transportFromUrl(POSTGRES);
  try {
    await transport.ping();
  } finally {
    await transport.close();
  }
});

/** Run the launcher from its TypeScript sources (no build); resolves with its exit code and output. */
function runShop(args: string[], url?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (url === undefined) delete env.SWITCHYARD_URL;
    else env.SWITCHYARD_URL = url;
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', main, ...args], {
      cwd: root,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the shop did not finish within 45 s\n${stdout}\n${stderr}`));
    }, 45_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('the shop example', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs three service processes on SQLite, accounts for every message and ends with the JSON totals', async () => {
    const { code, stdout, stderr } = await runShop(['--dir', dir]);
    const lines = stdout.trimEnd().split('\n');
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const totals = JSON.parse(lines.at(-1) ?? '') as Record<string, number>;
    expect(Object.keys(totals)).toEqual(['sent', 'handled', 'retried', 'deadLettered', 'lost']);
    expect(totals.lost).toBe(0);
    expect(totals.deadLettered).toBeGreaterThanOrEqual(1);
    expect(totals.retried).toBeGreaterThanOrEqual(1);
    expect(totals.handled).toBeGreaterThanOrEqual(totals.sent ?? Number.POSITIVE_INFINITY);
    expect(totals.sent).toBe(60);

    expect(stdout).toMatch(/^\[inventory\] reserved .+ for o-7/m);
    expect(stdout).toMatch(/^\[notify\] retry 1 for o-3 in 200ms: smtp timeout/m);
    expect(stdout).toMatch(/^\[notify\] dead-lettered o-13 .*invalid address/m);
    expect(stdout).toMatch(/^\[inventory\] ledger: order\.placed o-1 \(via order\.\*\)/m);

    // The dead letter outlives the processes, with its reason.
    const store = new SqliteDeadLetterStore(join(dir, 'shop.db'));
    try {
      const records = await store.list();
      expect(records).toHaveLength(1);
      expect(records[0]?.service).toBe('notification-service');
      expect(records[0]?.handler).toBe('email-confirmation');
      expect(records[0]?.reason.message).toContain("invalid address 'customer13@'");
    } finally {
      await store.close();
    }
  });

  it('--trace prints the trace of one order as a tree across the three services', async () => {
    const { code, stdout, stderr } = await runShop(['--dir', join(dir, 'trace'), '--orders', '5', '--trace']);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    const start = stdout.split('\n').findIndex((line) => /^\[shop\] trace [0-9a-f]{32} of one order/.test(line));
    expect(start, stdout).toBeGreaterThanOrEqual(0);
    const tree = stdout
      .split('\n')
      .slice(start + 1)
      .filter((line) => line.startsWith('  '));
    const text = tree.join('\n');
    // The order with a retry (o-3): storefront send → order → publish → inventory and notification, retries nested.
    expect(tree[0], text).toMatch(/^ {2}storefront {2}send order-service {2}[\d.]+ ms$/);
    expect(tree[1], text).toMatch(/^ {4}order-service {2}process order-service → place-order {2}[\d.]+ ms {2}handled$/);
    expect(text).toMatch(/^ {6}order-service {2}publish order\.placed/m);
    expect(text).toMatch(/^ {8}notification-service {2}process notification-service → email-confirmation .* retried$/m);
    expect(text).toMatch(/^ +notification-service {2}process notification-service → email-confirmation .* handled$/m);
    expect(text).toMatch(/^ {8}inventory-service {2}process inventory-service → ledger .* handled$/m);
  });

  it.runIf(rabbitReachable)('runs the same services unchanged on RabbitMQ when SWITCHYARD_URL is set', async () => {
    const { code, stdout, stderr } = await runShop(['--dir', join(dir, 'rabbit')], AMQP);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toContain('on amqp://127.0.0.1');
    const totals = JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '') as Record<string, number>;
    // Queues on a shared broker may hold messages of an aborted earlier run, which add retries and dead letters.
    expect(totals.lost).toBe(0);
    expect(totals.deadLettered).toBeGreaterThanOrEqual(1);
    expect(totals.retried).toBeGreaterThanOrEqual(1);
    expect(totals.handled).toBeGreaterThanOrEqual(totals.sent ?? Number.POSITIVE_INFINITY);
  });

  it.runIf(postgresReachable)('runs the same services unchanged on PostgreSQL when SWITCHYARD_URL is set', async () => {
    const url = `${POSTGRES}?schema=${POSTGRES_SCHEMA}`;
    try {
      const { code, stdout, stderr } = await runShop(['--dir', join(dir, 'postgres')], url);
      expect(code, `${stdout}\n${stderr}`).toBe(0);
      expect(stdout).toContain(`on ${url}`);
      const totals = JSON.parse(stdout.trimEnd().split('\n').at(-1) ?? '') as Record<string, number>;
      expect(totals.lost).toBe(0);
      expect(totals.deadLettered).toBe(1);
      expect(totals.retried).toBeGreaterThanOrEqual(1);
      expect(totals.handled).toBeGreaterThanOrEqual(totals.sent ?? Number.POSITIVE_INFINITY);
    } finally {
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: POSTGRES });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS "${POSTGRES_SCHEMA}" CASCADE`);
      await admin.end();
    }
  });
});
