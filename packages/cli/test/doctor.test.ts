import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brokerReachable } from '@switchyard/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, seed, type Workspace, workspace } from './helpers.js';

const rabbitUrl = process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const rabbitReachable = await brokerReachable('RabbitMQ at 127.0.0.1:5672', async () => {
  const { default: amqp } = await import('amqplib');
  await (await amqp.connect(rabbitUrl, { timeout: 3_000 })).close();
});

describe('switchyard doctor', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = workspace();
    await seed(ws.dbPath);
  });
  afterEach(() => ws.cleanup());

  it('passes when the SQLite transport answers and the dead-letter store is readable', async () => {
    const { code, stdout } = await ws.cli(['doctor']);
    expect(code).toBe(0);
    expect(stdout).toContain(`✓ transport default (sqlite:${ws.dbPath}): sqlite answered in`);
    expect(stdout).toContain('✓ dead letters');
    expect(stdout).toContain('readable, 3 record(s)');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('everything answers');
  });

  it('fails with exit code 1, saying what is wrong and what to do, for an unreachable SQLite path', async () => {
    const { code, stdout } = await ws.cli(['doctor'], { SWITCHYARD_URL: 'sqlite:/nonexistent-dir/sub/x.db' });
    expect(code).toBe(1);
    expect(stdout).toMatch(/✗ transport default \(sqlite:\/nonexistent-dir\/sub\/x\.db\): SY_TRANSPORT_UNAVAILABLE: /);
    expect(stdout).toContain('→ does the folder exist and is the file readable and writable by this user?');
    expect(stdout).toContain('✓ dead letters');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('1 problem found');
  });

  it('reports an unknown scheme and a missing dead-letter store, as JSON too', async () => {
    const config = join(ws.dir, 'bad.json');
    writeFileSync(
      config,
      JSON.stringify({ transports: { default: 'carrier-pigeon://coop' }, deadLetters: 'sqlite:./nothing-here.db' }),
    );
    const { code, stdout } = await ws.cli(['doctor', '--config', config, '--json']);
    expect(code).toBe(1);
    const results = JSON.parse(stdout) as Array<{ check: string; status: string; detail: string; hint?: string }>;
    expect(results.map((r) => [r.check, r.status])).toEqual([
      ['config', 'fail'],
      ['transport', 'fail'],
      ['dead letters', 'fail'],
    ]);
    expect(results[1]?.detail).toMatch(/^SY_CONFIGURATION: transport URL scheme 'carrier-pigeon:' is unknown/);
    expect(results[2]?.detail).toMatch(/^SY_NOT_FOUND: dead-letter database '.*nothing-here\.db' does not exist/);
    expect(results[2]?.hint).toContain('point "deadLetters" at the file the services use');
  });

  it('only warns when no dead-letter store is configured', async () => {
    const { code, stdout } = await ws.cli(['doctor', '--config', ws.configPath], { SWITCHYARD_URL: 'memory://doctor' });
    expect(stdout).toContain('✓ transport default (memory://doctor): memory answered in');
    expect(code).toBe(0);
    const bare = await runCli(['doctor'], { cwd: '/', env: { SWITCHYARD_URL: 'memory://doctor' } });
    expect(bare.stdout).toContain('! dead letters (none): no dead-letter store configured');
    expect(bare.stdout.trimEnd().split('\n').at(-1)).toBe('everything answers');
    expect(bare.code).toBe(0);
  });

  it('fails when nothing is configured at all', async () => {
    const { code, stdout } = await ws.cli(['doctor', '--config', join(ws.dir, 'empty.json')]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    writeFileSync(join(ws.dir, 'empty.json'), '{}');
    const empty = await ws.cli(['doctor', '--config', 'empty.json']);
    expect(empty.code).toBe(1);
    expect(empty.stdout).toContain('✗ config');
    expect(empty.stdout).toContain('no transport configured');
  });

  it.skipIf(!rabbitReachable)(
    "checks the shared store and each broker service's own dead-letter store, and warns only for one kept in memory",
    async () => {
      const config = join(ws.dir, 'map.json');
      const exchange = `sy-doctor-${Date.now()}`;
      writeFileSync(
        config,
        JSON.stringify({
          transports: {
            default: `sqlite:${ws.dbPath}`,
            rabbit: `${rabbitUrl}/?exchange=${exchange}`,
            mem: 'memory://x',
          },
          services: { orders: {}, billing: { transport: 'rabbit' }, cache: { transport: 'mem' } },
        }),
      );
      const { code, stdout } = await ws.cli(['doctor', '--config', config, '--json']);
      const results = JSON.parse(stdout) as Array<{ check: string; target: string; status: string; detail: string }>;
      const deadLetters = results.filter((r) => r.check === 'dead letters');
      expect(deadLetters.map((r) => [r.target.split(' ')[0], r.status])).toEqual([
        [`sqlite:${ws.dbPath}`, 'ok'],
        ['billing', 'ok'],
        ['cache', 'warn'],
      ]);
      expect(deadLetters[0]?.detail).toBe('readable, 3 record(s)');
      expect(deadLetters[1]?.detail).toBe('readable, 0 record(s)');
      expect(deadLetters[2]?.detail).toBe('kept in process memory: the CLI cannot see them');
      expect(code).toBe(0);
      const { default: amqp } = await import('amqplib');
      const connection = await amqp.connect(rabbitUrl);
      const channel = await connection.createChannel();
      await channel.deleteQueue(`${exchange}.dead-letters.billing`);
      await channel.deleteExchange(exchange);
      await connection.close();
    },
    30_000,
  );
});
