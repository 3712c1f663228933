import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { type DeadLetterRecord, transportFromUrl } from '@switchyard/core';
import { SqliteDeadLetterStore } from '@switchyard/sqlite';
import { waitFor } from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, startDashboard } from '../src/index.js';
import { postgresReachable, rabbitReachable, type ShopWorkspace, shopWorkspace } from './dashboard-helpers.js';
import { record, runCli } from './helpers.js';

/**
 * The dashboard's JSON API against real stores: the SQLite file of inventory and notification,
 * the durable RabbitMQ dead-letter queue of order-service, and the PostgreSQL table of billing
 * and shipping; channel counts from the three transports, the flow, and who sends what.
 */
const reachable = (await rabbitReachable()) && (await postgresReachable());

describe.skipIf(!reachable)('switchyard dashboard API (SQLite + RabbitMQ + PostgreSQL)', () => {
  let ws: ShopWorkspace;
  let dashboard: Dashboard;
  const now = Date.now();

  beforeAll(async () => {
    ws = shopWorkspace({ postgres: true });
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
    /** Add `added` to the durable store of its service on the broker of `url`. */
    const addToBroker = async (url: string | undefined, added: DeadLetterRecord) => {
      const transport = await transportFromUrl(url as string);
      const store = transport.deadLetterStore?.(added.service);
      await store?.add(added);
      await store?.close?.();
      await transport.close();
    };
    await addToBroker(ws.transports.rabbit, {
      ...record({
        id: 'dl-order',
        service: 'order-service',
        handler: 'pricing',
        channel: `${ws.exchange}.orders`,
        orderId: 'o-3',
        at: new Date(now - 30_000),
      }),
      reason: { code: 'SY_VALIDATION', message: 'price must be positive' },
    });
    await addToBroker(ws.transports.pg, {
      ...record({ id: 'dl-bill', service: 'billing-service', orderId: 'o-4', at: new Date(now - 10_000) }),
      reason: { code: 'SY_DECODE', message: 'body is not JSON' },
    });
    dashboard = await startDashboard(ws.config, { port: 0, sampleMs: 100 });
  }, 30_000);

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
    expect(page.total).toBe(4);
    expect(page.items.map((r) => r.id)).toEqual(['dl-inv', 'dl-mail', 'dl-order', 'dl-bill']);
    expect(page.counts).toEqual({
      service: { 'inventory-service': 1, 'notification-service': 1, 'order-service': 1, 'billing-service': 1 },
      code: { SY_HANDLER_FAILED: 2, SY_VALIDATION: 1, SY_DECODE: 1 },
    });
    expect(await ids('?service=billing-service')).toEqual(['dl-bill']);
    expect(await ids('?service=shipping-service')).toEqual([]);
  });

  it('counts dead letters per service and minute, with the channel samples of the same minutes', async () => {
    const response = await call('/api/flow?minutes=5');
    expect(response.status).toBe(200);
    const flow = (await response.json()) as {
      minutes: number;
      from: string;
      to: string;
      services: Array<{ service: string; deadLettered: number[]; samples: Array<Record<string, unknown>> }>;
    };
    expect(flow.minutes).toBe(5);
    expect(Date.parse(flow.to) - Date.parse(flow.from)).toBe(5 * 60_000);
    const of = (service: string) => flow.services.find((s) => s.service === service);
    const minute = (ago: number) => Math.floor((now - ago - Date.parse(flow.from)) / 60_000);
    for (const [service, ago] of [
      ['inventory-service', 120_000],
      ['notification-service', 60_000],
      ['order-service', 30_000],
      ['billing-service', 10_000],
    ] as const) {
      const series = of(service)?.deadLettered ?? [];
      expect(series, service).toHaveLength(5);
      expect(
        series.reduce((a, b) => a + b, 0),
        service,
      ).toBe(1);
      expect(series[minute(ago)], service).toBe(1);
    }
    expect(of('shipping-service')?.deadLettered).toEqual([0, 0, 0, 0, 0]);
    // The dashboard samples every 100 ms here: RabbitMQ reports depth, SQLite depth and in-flight.
    let sampled = flow;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      sampled = (await (await call('/api/flow?minutes=1')).json()) as typeof flow;
      if (sampled.services.every((s) => s.samples.length > 0)) break;
    }
    const lastOf = (service: string) => sampled.services.find((s) => s.service === service)?.samples.at(-1);
    expect(lastOf('order-service')).toEqual({ at: expect.any(String), depth: 0 });
    expect(lastOf('inventory-service')).toEqual({ at: expect.any(String), depth: 0, inFlight: 0 });
    expect(lastOf('billing-service')).toEqual({ at: expect.any(String), depth: 0, inFlight: 0 });
  });

  it('tells who handles, sends and publishes what, from the application module of the config', async () => {
    const view = (await (await call('/api/topology')).json()) as {
      messages: { source: string; services: Array<{ service: string; handles: unknown[]; sends: unknown[] }> };
    };
    expect(view.messages.source).toMatch(/examples\/shop\/src\/system\.ts$/);
    const of = (service: string) => view.messages.services.find((s) => s.service === service);
    expect(of('storefront')?.sends).toEqual([{ name: 'order.place', kind: 'command', to: 'order-service' }]);
    expect(of('order-service')?.sends).toEqual([
      { name: 'stock.reserve', kind: 'command', to: 'inventory-service' },
      { name: 'order.placed', kind: 'event' },
    ]);
    expect(of('order-service')?.handles).toEqual([{ kind: 'command', pattern: 'order.place' }]);
    expect(of('notification-service')?.handles).toContainEqual({ kind: 'event', pattern: 'order.#' });
  });

  it('filters by service, type, handler, code, search, time, and pages', async () => {
    expect(await ids('?service=order-service')).toEqual(['dl-order']);
    expect(await ids('?code=SY_VALIDATION')).toEqual(['dl-order']);
    expect(await ids('?handler=email')).toEqual(['dl-mail']);
    expect(await ids('?type=order.placed&search=O-1')).toEqual(['dl-inv']);
    expect(await ids('?since=90s')).toEqual(['dl-mail', 'dl-order', 'dl-bill']);
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
    for (const path of [
      '/api/flow?minutes=0',
      '/api/flow?minutes=61',
      '/api/flow?minutes=1.5',
      '/api/flow?minutes=5&minutes=6',
      '/api/flow?colour=red',
      '/api/channels?service=order-service',
    ]) {
      const response = await call(path);
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('SY_BAD_REQUEST');
    }
    expect((await call('/api/channels', { method: 'POST' })).status).toBe(405);
    expect((await call('/api/flow', { method: 'DELETE' })).status).toBe(405);
    expect((await call('/api/dead-letters/dl-inv/forward', { method: 'POST' })).status).toBe(404);
    expect((await call('/api/dead-letters/replay', { method: 'POST', body: '[]' })).status).toBe(400);
    expect(await ids('')).toEqual(['dl-inv', 'dl-mail', 'dl-order', 'dl-bill']);
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
      ['billing-service', 'pg', 'billing-service'],
      ['shipping-service', 'pg', 'shipping-service'],
    ]);
    expect(view.stores).toHaveLength(4);
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
    expect(await ids('')).toEqual(['dl-inv', 'dl-order', 'dl-bill']);
    const replayed = await call('/api/dead-letters/replay', {
      method: 'POST',
      body: JSON.stringify({ filter: { service: 'order-service' } }),
    });
    expect(await replayed.json()).toEqual({ count: 1 });
    expect(await ids('')).toEqual(['dl-inv', 'dl-bill']);
    const one = await call('/api/dead-letters/dl-inv/replay', { method: 'POST' });
    expect(((await one.json()) as { id: string }).id).toBe('dl-inv');
    expect(await ids('')).toEqual(['dl-bill']);
    const bill = await call('/api/dead-letters/dl-bill/replay', { method: 'POST' });
    expect(bill.status).toBe(200);
    expect(await ids('')).toEqual([]);
  });

  it("reports each channel's counts as its broker tells them, the replayed messages waiting", async () => {
    const response = await call('/api/channels');
    expect(response.status).toBe(200);
    const snapshot = (await response.json()) as {
      channels: Array<Record<string, unknown>>;
      transports: Array<{ transport: string; fields: string[]; error?: string }>;
    };
    expect(snapshot.transports).toEqual([
      { transport: 'default', fields: ['depth', 'inFlight'] },
      { transport: 'pg', fields: ['depth', 'inFlight'] },
      { transport: 'rabbit', fields: ['depth', 'consumers'] },
    ]);
    // Nobody consumes in this test: each replayed message waits in its service's channel.
    expect(snapshot.channels).toEqual([
      { service: 'order-service', transport: 'rabbit', channel: `${ws.exchange}.orders`, depth: 1, consumers: 0 },
      { service: 'inventory-service', transport: 'default', channel: 'inventory-service', depth: 1, inFlight: 0 },
      { service: 'notification-service', transport: 'default', channel: 'notify-inbox', depth: 0, inFlight: 0 },
      { service: 'billing-service', transport: 'pg', channel: 'billing-service', depth: 1, inFlight: 0 },
      { service: 'shipping-service', transport: 'pg', channel: 'shipping-service', depth: 0, inFlight: 0 },
    ]);
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
        () => out.includes('/v1/metrics'),
        () => `the dashboard to start; printed: ${out}`,
        20_000,
      );
      const base = /dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1] ?? '';
      const token = /open http:\S+#token=(\S+)/.exec(out)?.[1] ?? '';
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(out).toContain(`API: Authorization: Bearer ${token}`);
      expect(out).toContain(`metrics: OTLP/HTTP to ${base}v1/metrics, same header`);
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
