import type { TransportMessage } from '@switchyard/core/transport';
import { SqliteTransport } from '@switchyard/sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { seed, type Workspace, workspace } from './helpers.js';

/** Consume `channel` of the workspace's SQLite file until `count` messages arrived (10 s bound). */
async function receive(dbPath: string, channel: string, count: number): Promise<TransportMessage[]> {
  const transport = new SqliteTransport({ path: dbPath });
  const received: TransportMessage[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${received.length} of ${count} messages arrived on '${channel}'`)),
        10_000,
      );
      void transport.consume(channel, async (delivery) => {
        received.push(delivery.message);
        await delivery.ack();
        if (received.length === count) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    await transport.close();
  }
  return received;
}

describe('switchyard dlq', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = workspace();
    await seed(ws.dbPath);
  });
  afterEach(() => ws.cleanup());

  it('lists every dead letter as a table, oldest first', async () => {
    const { code, stdout, stderr } = await ws.cli(['dlq', 'list']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+SERVICE\s+TYPE\s+HANDLER\s+CODE\s+ERROR\s+ATTEMPTS\s+AGE$/);
    expect(lines.slice(1, 4).map((line) => line.split(/\s+/)[0])).toEqual(['dl-old', 'dl-mail', 'dl-feed']);
    expect(lines[2]).toMatch(/SY_HANDLER_FAILED\s+handler failed for o-2/);
    expect(lines.at(-1)).toBe('3 dead letters');
  });

  it('filters by service, handler, message name, time and limit', async () => {
    const ids = async (...args: string[]) => {
      const { code, stdout } = await ws.cli(['dlq', 'list', '--json', ...args]);
      expect(code).toBe(0);
      return (JSON.parse(stdout) as Array<{ id: string }>).map((r) => r.id);
    };
    expect(await ids('--service', 'notification-service')).toEqual(['dl-mail', 'dl-feed']);
    expect(await ids('--handler', 'ledger')).toEqual(['dl-old']);
    expect(await ids('--message', 'order.placed', '--service', 'inventory-service')).toEqual(['dl-old']);
    expect(await ids('--message', 'order.shipped')).toEqual([]);
    expect(await ids('--since', '2h')).toEqual(['dl-mail', 'dl-feed']);
    expect(await ids('--since', '30m')).toEqual(['dl-feed']);
    expect(await ids('--until', '2026-06-01')).toEqual(['dl-old']);
    expect(await ids('--since', '2025-12-31T00:00:00Z', '--until', '30m')).toEqual(['dl-old', 'dl-mail']);
    expect(await ids('--limit', '1')).toEqual(['dl-old']);
  });

  it('prints the records as JSON with the body as text, and the stack only with --verbose', async () => {
    const plain = JSON.parse((await ws.cli(['dlq', 'list', '--json', '--limit', '1'])).stdout);
    expect(plain[0]).toMatchObject({
      id: 'dl-old',
      service: 'inventory-service',
      handler: 'ledger',
      reason: { code: 'SY_HANDLER_FAILED' },
      message: { body: '{"orderId":"o-1"}', headers: { 'ce-type': 'order.placed' } },
    });
    expect(plain[0].reason.stack).toBeUndefined();
    const verbose = JSON.parse((await ws.cli(['--verbose', 'dlq', 'list', '--json', '--limit', '1'])).stdout);
    expect(verbose[0].reason.stack).toContain('Error: boom');
  });

  it('rejects a bad filter with a one-line error and exit code 1', async () => {
    const { code, stdout, stderr } = await ws.cli(['dlq', 'list', '--since', 'yesterday-ish']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^switchyard: SY_CONFIGURATION: --since 'yesterday-ish' is not a time/);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect((await ws.cli(['dlq', 'list', '--limit', '0'])).stderr).toContain('--limit must be a positive integer');
  });

  it('shows one record with reason, stack, headers and pretty body', async () => {
    const { code, stdout } = await ws.cli(['dlq', 'show', 'dl-mail']);
    expect(code).toBe(0);
    expect(stdout).toContain('service:          notification-service');
    expect(stdout).toContain('handler:          email');
    expect(stdout).toContain('reason:           SY_HANDLER_FAILED: handler failed for o-2');
    expect(stdout).toContain('Error: boom');
    expect(stdout).toContain('  ce-type: order.placed');
    expect(stdout).toContain('"orderId": "o-2"');
    expect(JSON.parse((await ws.cli(['dlq', 'show', 'dl-mail', '--json'])).stdout)).toMatchObject({
      id: 'dl-mail',
      channel: 'notify-inbox',
    });
  });

  it('fails with SY_NOT_FOUND for an unknown id, without a stack unless --verbose', async () => {
    const quiet = await ws.cli(['dlq', 'show', 'nope']);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toBe("switchyard: SY_NOT_FOUND: no dead letter with id 'nope': see switchyard dlq list\n");
    const verbose = await ws.cli(['dlq', 'show', 'nope', '--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toContain('at ');
  });

  it('replays one dead letter to its channel, addressed to the failed handler, and removes it from the store', async () => {
    const { code, stdout, stderr } = await ws.cli(['dlq', 'replay', 'dl-mail']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(
      "replayed dl-mail (order.placed m-dl-mail, notification-service/email) → channel 'notify-inbox'",
    );
    const [message] = await receive(ws.dbPath, 'notify-inbox', 1);
    expect(message?.id).toBe('m-dl-mail');
    expect(message?.headers['ce-targethandler']).toBe('email');
    expect(message?.headers['ce-attempt']).toBe('1');
    expect(new TextDecoder().decode(message?.body)).toBe('{"orderId":"o-2"}');
    const left = JSON.parse((await ws.cli(['dlq', 'list', '--json'])).stdout) as Array<{ id: string }>;
    expect(left.map((r) => r.id)).toEqual(['dl-old', 'dl-feed']);
  });

  it('replays every dead letter matching the filters with --all', async () => {
    const { code, stdout } = await ws.cli(['dlq', 'replay', '--all', '--service', 'notification-service']);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('replayed 2 dead letters');
    const messages = await receive(ws.dbPath, 'notify-inbox', 2);
    expect(messages.map((m) => m.headers['ce-targethandler']).sort()).toEqual(['email', 'timeline']);
    const left = JSON.parse((await ws.cli(['dlq', 'list', '--json'])).stdout) as Array<{ id: string }>;
    expect(left.map((r) => r.id)).toEqual(['dl-old']);
  });

  it('refuses a replay without an id or --all, or with both', async () => {
    for (const args of [
      ['dlq', 'replay'],
      ['dlq', 'replay', 'dl-old', '--all'],
    ]) {
      const { code, stderr } = await ws.cli(args);
      expect(code).toBe(1);
      expect(stderr).toContain('give either a dead-letter id or --all');
    }
    expect(JSON.parse((await ws.cli(['dlq', 'list', '--json'])).stdout)).toHaveLength(3);
  });

  it('deletes a dead letter, and fails on a second delete', async () => {
    const first = await ws.cli(['dlq', 'delete', 'dl-old']);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('deleted dl-old (order.placed m-dl-old, inventory-service/ledger)\n');
    const second = await ws.cli(['dlq', 'delete', 'dl-old']);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^switchyard: SY_NOT_FOUND: /);
    expect(JSON.parse((await ws.cli(['dlq', 'list', '--json'])).stdout)).toHaveLength(2);
  });

  it('says where the store is missing instead of creating an empty one', async () => {
    const { code, stderr } = await ws.cli(['dlq', 'list'], { SWITCHYARD_DEAD_LETTERS: 'sqlite:./missing.db' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^switchyard: SY_NOT_FOUND: dead-letter database '.*missing\.db' does not exist/);
  });
});
