import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { transportFromUrl } from '@switchyard/core';
import { SqliteDeadLetterStore } from '@switchyard/sqlite';
import { waitFor } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../src/index.js';
import { rabbitReachable, type ShopWorkspace, shopWorkspace } from './dashboard-helpers.js';
import { record, runCli } from './helpers.js';

/**
 * The dashboard's JSON API against real stores: the SQLite file of inventory and notification,
 * and the durable RabbitMQ dead-letter queue of order-service.
 */
const reachable = await rabbitReachable();

describe.skipIf(!reachable)('switchyard dashboard API (SQLite + RabbitMQ)', () => {
  let ws: ShopWorkspace;
  let dashboard: Dashboard;
  const now = Date.now();

  beforeAll(async () => {
    ws = shopWorkspace();
    const sqlite = new SqliteDeadLetterStore(ws.dbPath);
    await sqlite.add(
      record({
        id: 'dl-inv',
        service: 'inventory-service',
        handler: 'ledger',
        orderId: 'o-1',
        at: new Date(now - 120_000),
      }),
    );
    await sqlite.add(
      record({
        id: 'dl-mail',
        service: 'notification-service',
        handler: 'email',
        channel: 'notify-inbox',
        orderId: 'o-2',
        at: new Date(now - 60_000),
      }),
    );
    await sqlite.close();
    const rabbit = await transportFromUrl(ws.transports.rabbit as string);
    const store = rabbit.deadLetterStore?.('order-service');
    const orderRecord = record({
      id: 'dl-order',
      service: 'order-service',
      handler: 'pricing',
      channel: `${ws.exchange}.orders`,
      orderId: 'o-3',
      at: new Date(now - 30_000),
    });
    await store?.add({ ...orderRecord, reason: { code: 'SY_VALIDATION', message: 'price must be positive' } });
    await store?.close?.();
    await rabbit.close();
    dashboard = await startDashboard(ws.config, { port: 0 });
  });

  afterAll(async () => {
    await dashboard?.close();
    await ws?.cleanup();
  });

  const call = (path: string, init: RequestInit = {}, token: string | null = dashboard.token) =>
    fetch(new URL(path, dashboard.url), {
      ...init,
      headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
    });
  const ids = async (query: string) => {
    const response = await call(`/api/dead-letters${query}`);
    expect(response.status).toBe(200);
    return ((await response.json()) as { items: Array<{ id: string }> }).items.map((r) => r.id);
  };

  it('reads every store of the service map, oldest first, with counts per service and code', async () => {
    expect(dashboard.sources.statuses.every((s) => s.error === undefined)).toBe(true);
    const response = await call('/api/dead-letters');
    const page = (await response.json()) as { total: number; items: Array<{ id: string }>; counts: unknown };
    expect(page.total).toBe(3);
    expect(page.items.map((r) => r.id)).toEqual(['dl-inv', 'dl-mail', 'dl-order']);
    expect(page.counts).toEqual({
      service: { 'inventory-service': 1, 'notification-service': 1, 'order-service': 1 },
      code: { SY_HANDLER_FAILED: 2, SY_VALIDATION: 1 },
    });
  });

  it('filters by service, type, handler, code, search, time, and pages', async () => {
    expect(await ids('?service=order-service')).toEqual(['dl-order']);
    expect(await ids('?code=SY_VALIDATION')).toEqual(['dl-order']);
    expect(await ids('?handler=email')).toEqual(['dl-mail']);
    expect(await ids('?type=order.placed&search=O-1')).toEqual(['dl-inv']);
    expect(await ids('?since=90s')).toEqual(['dl-mail', 'dl-order']);
    expect(await ids(`?until=${encodeURIComponent(new Date(now - 90_000).toISOString())}`)).toEqual(['dl-inv']);
    expect(await ids('?offset=1&limit=1')).toEqual(['dl-mail']);
  });

  it('shows one record with its stack, and 404 for an unknown id', async () => {
    const response = await call('/api/dead-letters/dl-inv');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 'dl-inv', reason: { stack: expect.stringContaining('boom') } });
    const missing = await call('/api/dead-letters/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'SY_NOT_FOUND', message: "no dead letter with id 'nope'" } });
    for (const [path, method] of [
      ['/api/dead-letters/nope', 'DELETE'],
      ['/api/dead-letters/nope/replay', 'POST'],
    ] as const)
      expect((await call(path, { method })).status).toBe(404);
  });

  it('answers 400 to malformed filters and bodies, 413 to an oversized body, and changes nothing', async () => {
    for (const query of [
      '?since=yesterday-ish',
      '?limit=0',
      '?limit=501',
      '?offset=-1',
      '?colour=red',
      '?code=a&code=b',
    ]) {
      const response = await call(`/api/dead-letters${query}`);
      expect(response.status, query).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('SY_BAD_REQUEST');
    }
    const post = (body: string) =>
      call('/api/dead-letters/replay', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect((await post('{not json')).status).toBe(400);
    expect((await post('{"filter":{"since":"soon"}}')).status).toBe(400);
    expect((await post('{"filter":{"limit":"1"}}')).status).toBe(400);
    expect((await post('{"everything":true}')).status).toBe(400);
    const huge = await post(JSON.stringify({ filter: { search: 'x'.repeat(100_000) } }));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('SY_TOO_LARGE');
    const deleteHuge = await call('/api/dead-letters/dl-inv', { method: 'DELETE', body: 'x'.repeat(100_000) });
    expect(deleteHuge.status).toBe(413);
    expect((await call('/api/dead-letters', { method: 'PUT' })).status).toBe(405);
    expect((await call('/api/dead-letters/%E0%A4%A', { method: 'DELETE' })).status).toBe(400);
    expect(await ids('')).toEqual(['dl-inv', 'dl-mail', 'dl-order']);
  });

  it('answers 401 without the token or with a wrong one, and serves the page', async () => {
    for (const token of [null, 'wrong', `${dashboard.token}x`]) {
      const response = await call('/api/dead-letters', {}, token);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('SY_UNAUTHORIZED');
    }
    expect((await call('/api/topology', {}, null)).status).toBe(401);
    const page = await call('/', {}, null);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe("default-src 'self'; frame-ancestors 'none'");
    expect(await page.text()).toContain('<title>Switchyard dashboard</title>');
  });

  it('returns the topology of the service map', async () => {
    const view = (await (await call('/api/topology')).json()) as {
      services: Array<{ name: string; transport: string; channel: string }>;
      stores: Array<{ service?: string }>;
    };
    expect(view.services.map((s) => [s.name, s.transport, s.channel])).toEqual([
      ['order-service', 'rabbit', `${ws.exchange}.orders`],
      ['inventory-service', 'default', 'inventory-service'],
      ['notification-service', 'default', 'notify-inbox'],
    ]);
    expect(view.stores).toHaveLength(2);
    expect(JSON.stringify(view)).not.toContain('guest:guest');
  });

  it('lists a store it cannot open with the reason, and still reads the others', async () => {
    const fresh = shopWorkspace(); // its SQLite file does not exist yet
    const other = await startDashboard(fresh.config, { port: 0 });
    try {
      const response = await fetch(new URL('/api/topology', other.url), {
        headers: { authorization: `Bearer ${other.token}` },
      });
      const { stores } = (await response.json()) as { stores: Array<{ service?: string; error?: string }> };
      expect(stores.find((s) => s.service === undefined)?.error).toMatch(/dead-letter database '.*' does not exist/);
      expect(stores.find((s) => s.service === 'order-service')?.error).toBeUndefined();
      const list = await fetch(new URL('/api/dead-letters', other.url), {
        headers: { authorization: `Bearer ${other.token}` },
      });
      expect(((await list.json()) as { total: number }).total).toBe(0);
    } finally {
      await other.close();
      await fresh.cleanup();
    }
  });

  it('deletes one record, replays the filtered set and says how many', async () => {
    const deleted = await call('/api/dead-letters/dl-mail', { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(await ids('')).toEqual(['dl-inv', 'dl-order']);
    const replayed = await call('/api/dead-letters/replay', {
      method: 'POST',
      body: JSON.stringify({ filter: { service: 'order-service' } }),
    });
    expect(await replayed.json()).toEqual({ count: 1 });
    expect(await ids('')).toEqual(['dl-inv']);
    const one = await call('/api/dead-letters/dl-inv/replay', { method: 'POST' });
    expect(((await one.json()) as { id: string }).id).toBe('dl-inv');
    expect(await ids('')).toEqual([]);
  });
});

describe('switchyard dashboard options', () => {
  it('refuses a non-loopback host without a token, and a short token', async () => {
    const ws = shopWorkspace();
    try {
      await expect(startDashboard(ws.config, { host: '0.0.0.0', port: 0 })).rejects.toThrow(/pass --token/);
      await expect(startDashboard(ws.config, { port: 0, token: 'short' })).rejects.toThrow(/at least 16/);
    } finally {
      await ws.cleanup();
    }
  });
});

describe('switchyard dashboard command', () => {
  it('refuses --host 0.0.0.0 without --token, with exit code 1 and what to pass', async () => {
    const ws = shopWorkspace();
    try {
      const { code, stderr } = await runCli(['dashboard', '--host', '0.0.0.0', '--port', '0'], { cwd: ws.dir });
      expect(code).toBe(1);
      expect(stderr).toMatch(/^switchyard: SY_CONFIGURATION: --host 0\.0\.0\.0 .*pass --token/);
    } finally {
      await ws.cleanup();
    }
  });

  it('serves until SIGTERM on 127.0.0.1, printing the URL with a token that the API then requires', async () => {
    const ws = shopWorkspace();
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        main,
        'dashboard',
        '--port',
        '0',
        '--config',
        `${ws.dir}/switchyard.config.json`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
      });
      await waitFor(
        () => out.includes('API: Authorization'),
        () => `the dashboard to start; printed: ${out}`,
        20_000,
      );
      const base = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1] ?? '';
      const token = /open http:\S+#token=(\S+)/.exec(out)?.[1] ?? '';
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(out).toContain(`API: Authorization: Bearer ${token}`);
      expect((await fetch(`${base}api/topology`)).status).toBe(401);
      const ok = await fetch(`${base}api/topology`, { headers: { authorization: `Bearer ${token}` } });
      expect(ok.status).toBe(200);
      child.kill('SIGTERM');
      const [exitCode] = await once(child, 'exit');
      expect(exitCode).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await ws.cleanup();
    }
  }, 30_000);
});
