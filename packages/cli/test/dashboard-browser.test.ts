import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { createService, defineCommand, type Service } from '@switchyard/core';
import { brokerReachable, waitFor } from '@switchyard/testing';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Dashboard, startDashboard } from '../src/index.js';
import { rabbitReachable, type ShopWorkspace, shopWorkspace } from './dashboard-helpers.js';

/**
 * The dashboard in Debian's headless Chromium: dead letters made by failing handlers on RabbitMQ
 * (order-service) and SQLite (inventory-service) appear in one table while the page is open;
 * filter by code, detail, replay (handled, gone), delete; the shop's topology with live channel
 * counts and who sends what; the flow chart with the handled and retried counts the services
 * export to it over OTLP; 401 without the token.
 * Screenshots go to a temp folder, or to docs/dashboard/*.png (shown by docs/dashboard.md) when
 * SWITCHYARD_UPDATE_SCREENSHOTS=1, so that a test run does not change the checkout.
 */
const CHROMIUM = '/usr/bin/chromium';
const shots =
  process.env.SWITCHYARD_UPDATE_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../../docs/dashboard/', import.meta.url))
    : `${mkdtempSync(join(tmpdir(), 'switchyard-screenshots-'))}/`;
const haveChromium = await brokerReachable(`Chromium at ${CHROMIUM} (apt-get install chromium)`, async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} does not exist`);
});
const haveRabbit = await rabbitReachable();

const Reserve = defineCommand('shop.reserve-stock', z.object({ orderId: z.string() }));
const Price = defineCommand('shop.price-order', z.object({ orderId: z.string() }));
const Audit = defineCommand('shop.audit', z.object({ orderId: z.string() }));
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

describe.skipIf(!haveChromium || !haveRabbit)('switchyard dashboard in Chromium', () => {
  let ws: ShopWorkspace;
  let dashboard: Dashboard;
  let browser: Browser;
  let page: Page;
  const services: Service[] = [];
  let broken = true;
  const handled: string[] = [];
  const dead: Array<{ id: string; service: string; code: string }> = [];
  const dialogs: string[] = [];
  let accept = true;
  // One meter provider for both services (the dashboard tells them apart by messaging.consumer.group.name).
  // Its OTLP exporter is made once the dashboard listens; the test exports by forceFlush.
  let otlp: OTLPMetricExporter | undefined;
  const exporter: PushMetricExporter = {
    export: (metrics, done) =>
      otlp ? otlp.export(metrics, done) : done({ code: ExportResultCode.FAILED, error: new Error('no dashboard yet') }),
    forceFlush: async () => otlp?.forceFlush(),
    shutdown: async () => otlp?.shutdown(),
  };
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });

  const service = (name: string, delayedRetries = 0) => {
    const s = createService({
      name,
      transports: ws.transports,
      services: ws.services,
      retry: { instantRetries: 0, delayedRetries, initialDelayMs: 10, jitter: 0 },
      logger: quiet,
      telemetry: { meterProvider },
    });
    s.on('deadLettered', ({ record }) =>
      dead.push({ id: record.id, service: record.service, code: record.reason.code }),
    );
    services.push(s);
    return s;
  };

  beforeAll(async () => {
    ws = shopWorkspace();
    const order = service('order-service', 1);
    order.handle(
      Price,
      (command) => {
        if (broken) throw new Error(`price of ${command.orderId} must be positive`);
        handled.push(`price ${command.orderId}`);
      },
      { distributed: true },
    );
    const inventory = service('inventory-service');
    inventory.handle(
      Reserve,
      (command) => {
        if (broken) throw new Error(`no stock for ${command.orderId}`);
        handled.push(`reserve ${command.orderId}`);
      },
      { distributed: true },
    );
    for (const s of services) await s.start();
    dashboard = await startDashboard(ws.config, { port: 0, sampleMs: 500 });
    otlp = new OTLPMetricExporter({
      url: `${dashboard.url}v1/metrics`,
      headers: { Authorization: `Bearer ${dashboard.token}` },
    });
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--headless=new'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 800 });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void (accept ? dialog.accept() : dialog.dismiss());
    });
    mkdirSync(shots, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.close();
    for (const s of services) await s.stop();
    await meterProvider.shutdown();
    await ws?.cleanup();
  });

  const rows = () => page.$$eval('#dl-table tbody tr[data-id]', (trs) => trs.map((tr) => tr.getAttribute('data-id')));
  /** Wait until the table shows exactly these rows (the page refreshes itself every 5 s). */
  const waitRows = (ids: string[]) =>
    page.waitForFunction(
      `JSON.stringify([...document.querySelectorAll('#dl-table tbody tr[data-id]')].map((tr) => tr.dataset.id).sort()) === ${JSON.stringify(JSON.stringify([...ids].sort()))}`,
      { timeout: 15_000 },
    );

  it('shows, filters, replays and deletes dead letters of RabbitMQ and SQLite, and the topology', async () => {
    await page.goto(dashboard.openUrl);
    await page.waitForSelector('#dl-table tbody td[colspan]');
    expect(page.url()).toBe(dashboard.url); // the token left the address bar

    // Three dead letters while the page is open: two failing handlers (RabbitMQ, SQLite), one message nobody handles.
    const [order] = services;
    await order?.distributedBus.sendCommand('order-service', Price, { orderId: 'o-rabbit' });
    await order?.distributedBus.sendCommand('inventory-service', Reserve, { orderId: 'o-sqlite' });
    await order?.distributedBus.sendCommand('inventory-service', Audit, { orderId: 'o-unhandled' });
    await waitFor(
      () => dead.length === 3,
      () => `${dead.length} of 3 dead letters`,
      20_000,
    );
    const byService = (service: string, code: string) =>
      dead.find((d) => d.service === service && d.code === code)?.id ?? '';
    const rabbitId = byService('order-service', 'SY_HANDLER_FAILED');
    const sqliteId = byService('inventory-service', 'SY_HANDLER_FAILED');
    const unhandledId = byService('inventory-service', 'SY_NO_HANDLER');
    await waitRows([rabbitId, sqliteId, unhandledId]); // the periodic refresh brought them in
    expect(await page.$eval('#total', (e) => e.textContent)).toBe('(3)');
    expect(await page.$eval('#counts', (e) => e.textContent)).toBe('SY_HANDLER_FAILED: 2 · SY_NO_HANDLER: 1');
    expect(await page.$eval('#page-info', (e) => e.textContent)).toBe('1–3 of 3');
    await page.screenshot({ path: `${shots}dead-letters.png`, fullPage: true });

    // Filter by code.
    await page.select('select[name=code]', 'SY_HANDLER_FAILED');
    await page.click('#filters button[type=submit]');
    await waitRows([rabbitId, sqliteId]);

    // Detail of the RabbitMQ one.
    await page.click(`button[data-id="${rabbitId}"]`);
    await page.waitForSelector('#detail[open]');
    const detail = await page.$eval('#detail', (e) => e.textContent ?? '');
    expect(detail).toContain('order-service');
    expect(detail).toContain(
      "SY_HANDLER_FAILED: handler 'shop.price-order' failed: price of o-rabbit must be positive",
    );
    expect(detail).toContain('"orderId": "o-rabbit"');
    expect(detail).toContain('ce-type');
    expect(detail).toMatch(/Error: price of o-rabbit/); // the stack
    await page.setViewport({ width: 1280, height: 1000 });
    await page.screenshot({ path: `${shots}detail.png` });
    await page.setViewport({ width: 1280, height: 800 });

    // Fix the handlers, replay it: it is handled and disappears.
    broken = false;
    await page.click('#detail-replay');
    await waitFor(() => handled.includes('price o-rabbit'), 'the replayed order to be handled', 15_000);
    await waitRows([sqliteId]);
    expect(dialogs.at(-1)).toMatch(/^Replay 1 dead letter \(shop\.price-order /);

    // Delete the SQLite one.
    await page.click(`button[data-id="${sqliteId}"]`);
    await page.waitForSelector('#detail[open]');
    await page.click('#detail-delete');
    expect(dialogs.at(-1)).toMatch(/^Delete 1 dead letter \(shop\.reserve-stock /);
    await page.waitForSelector('#dl-table tbody td[colspan]');
    expect(await rows()).toEqual([]);
    expect(handled).toEqual(['price o-rabbit']);

    // Clear the filter: the unhandled one is left, and "replay all" asks about exactly 1.
    await page.select('select[name=code]', '');
    await page.click('#filters button[type=submit]');
    await waitRows([unhandledId]);

    // "Replay all matching" asks about exactly how many match; cancelling changes nothing.
    accept = false;
    await page.click('#replay-filtered');
    await waitFor(() => dialogs.length === 3, 'the replay-all confirmation');
    expect(dialogs.at(-1)).toBe('Replay 1 dead letter matching the filters?');
    accept = true;
    const left = await fetch(new URL('/api/dead-letters', dashboard.url), {
      headers: { authorization: `Bearer ${dashboard.token}` },
    });
    expect(((await left.json()) as { total: number }).total).toBe(1);

    // Topology: the shop's three services on their transports, with live counts and who sends what.
    await page.click('#tab-topology');
    await page.waitForSelector('#topo-graph .service');
    const shown = await page.$$eval('#topo-graph .service', (items) =>
      items.map((li) => li.getAttribute('data-service')),
    );
    expect(shown.sort()).toEqual(['inventory-service', 'notification-service', 'order-service']);
    expect(await page.$eval('#topo-graph', (e) => e.textContent)).toContain('order.#');
    const inventory = await page.$eval('[data-service="inventory-service"]', (e) => e.textContent);
    expect(inventory).toContain('1 dead letter');
    const orders = await page.$eval('[data-service="order-service"]', (e) => e.textContent);
    expect(orders).toContain('0 dead letters');
    expect(orders).toContain('stock.reserve → inventory-service');
    expect(orders).toContain('publishes order.placed');
    // RabbitMQ tells depth and consumers (no in-flight without its management API); SQLite depth and in-flight.
    const counts = (service: string) =>
      page.$eval(`[data-counts="${service}"]`, (e) => e.textContent ?? '').catch(() => '');
    await page.waitForFunction(
      `document.querySelector('[data-counts="order-service"]')?.textContent === 'depth 0 · 1 consumer'`,
      { timeout: 15_000 },
    );
    expect(await counts('inventory-service')).toBe('depth 0 · in flight 0');
    // A message nobody handles in time shows up as depth: stop inventory's consumer, send, watch the graph.
    await services[1]?.stop();
    await order?.distributedBus.sendCommand('inventory-service', Reserve, { orderId: 'o-waiting' });
    await page.waitForFunction(
      `document.querySelector('[data-counts="inventory-service"]')?.textContent === 'depth 1 · in flight 0'`,
      { timeout: 15_000 },
    );
    const edges = await page.$$eval('[data-edge]', (gs) => gs.map((g) => g.getAttribute('data-edge')));
    expect(edges.sort()).toEqual([
      'order-service>inventory-service:stock.reserve,order.placed',
      'order-service>notification-service:order.placed',
      'storefront>order-service:order.place',
    ]);
    await page.screenshot({ path: `${shots}topology.png`, fullPage: true });

    // Flow: handled and retried per minute from the services' OTLP export (order-service: the
    // replayed order handled, its first failure retried once), dead letters per minute from the
    // stores, the sampled depth as a line.
    await reader.forceFlush();
    await page.click('#tab-flow');
    await page.waitForSelector('svg[data-flow="inventory-service"] .depth-line');
    const label = (service: string) =>
      page.$eval(`svg[data-flow="${service}"]`, (e) => e.getAttribute('aria-label') ?? '');
    // The stores keep what was not replayed or deleted: inventory's unhandled one; order's was replayed.
    expect(await label('inventory-service')).toBe(
      'inventory-service, last 15 minutes: 0 handled (peak 0.00/s), 0 retried, 1 dead letter stored; channel depth now 1, at most 1',
    );
    expect(await label('order-service')).toMatch(
      /^order-service, last 15 minutes: 1 handled \(peak 0\.02\/s\), 1 retried, 0 dead letters stored; channel depth now 0/,
    );
    // Both lines reach the top of the scale (1) in the current minute, and leave out the minutes
    // before the first export (unknown, not zero): one point each.
    const line = (kind: string) =>
      page.$eval(`svg[data-flow="order-service"] .${kind}-line`, (e) => e.getAttribute('points'));
    expect(await line('handled')).toMatch(/^[\d.]+,10\.0$/);
    expect(await line('retried')).toMatch(/^[\d.]+,10\.0$/);
    expect(await page.$eval('svg[data-flow="order-service"] .count-scale', (e) => e.textContent)).toBe('1');
    const dots = await page.$$eval('svg[data-flow="order-service"] circle title', (ts) => ts.map((t) => t.textContent));
    expect(dots).toEqual(['1 handled in minute 0', '1 retried in minute 0']);
    expect(await page.$$eval('svg[data-flow="inventory-service"] .dead-bar', (bars) => bars.length)).toBe(1);
    expect(await page.$$eval('svg[data-flow="order-service"] .dead-bar', (bars) => bars.length)).toBe(0);
    await page.screenshot({ path: `${shots}flow.png`, fullPage: true });

    // Without the token: 401.
    const anonymous = await page.evaluate(async () => (await fetch('/api/dead-letters')).status);
    expect(anonymous).toBe(401);
  }, 90_000);
});
