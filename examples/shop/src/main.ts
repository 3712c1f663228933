import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createService, describeError, redact, transportFromUrl } from '@switchyard/core';
import { SqliteDeadLetterStore } from '@switchyard/sqlite';
import { PlaceOrder, Services, ShortNames } from './contracts.js';
import { Ledger } from './ledger.js';
import { parseOptions } from './options.js';
import { makeOrders } from './orders.js';
import { forkService, type ServiceProcess, stopServices } from './processes.js';
import { Env, type Report } from './protocol.js';
import { quietLogger } from './quiet-logger.js';
import { printSummary } from './summary.js';
import { installTracing, type SpanReport, toReport, traceTree } from './trace.js';

/**
 * The shop launcher (`npm start`): runs the three services as separate OS
 * processes on one transport (an SQLite file by default, SWITCHYARD_URL
 * otherwise), places the orders, prints every notable step, waits until every
 * sent message is handled or dead-lettered, stops the services with SIGTERM
 * and prints a summary whose last line is one JSON object. Exits non-zero
 * when a message is unaccounted for, a service fails, or the timeout passes.
 */
const options = parseOptions(process.argv.slice(2));
const started = performance.now();
mkdirSync(options.dir, { recursive: true });
const dbPath = join(options.dir, 'shop.db');
for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
const url = options.url ?? `sqlite:${dbPath}`;
const configPath = writeCliConfig(options.dir, url, dbPath);

const say = (service: string, text: string) => console.log(`[${ShortNames[service] ?? service}] ${text}`);
const ledger = new Ledger();
const ready = new Set<string>();
let stopping = false;
/** Why a service process died before it was asked to stop, if one did. */
let crash: string | undefined;
let check: () => void = () => {};
let fail: (reason: string) => void = () => {};

const spans: SpanReport[] = [];
const launcherSpans = options.trace ? installTracing('storefront') : undefined;

function onReport(report: Report): void {
  switch (report.type) {
    case 'spans':
      spans.push(...report.spans);
      return;
    case 'ready':
      ready.add(report.service);
      ledger.ready(report.service, report.handlers);
      say(report.service, `ready: ${report.handlers.map((h) => `${h.id} ← ${h.pattern}`).join(', ')}`);
      break;
    case 'log':
      say(report.service, report.text);
      break;
    case 'sent':
      ledger.sent(report);
      break;
    case 'handled':
      ledger.handled(report.service, report.handler, report.id);
      break;
    case 'retried':
      ledger.retried();
      break;
    case 'deadLettered':
      ledger.deadLettered(report.service, report.handler, report.id);
      break;
  }
  check();
}

/** Resolves when `done()` holds, checked after each report; rejects after `ms` or when a service fails. */
function until(done: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (crash !== undefined) return reject(new Error(crash));
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${what} (--timeout ${options.timeoutMs} ms)`)),
      ms,
    );
    check = () => {
      if (!done()) return;
      clearTimeout(timer);
      check = () => {};
      resolve();
    };
    fail = (reason) => {
      clearTimeout(timer);
      reject(new Error(reason));
    };
    check();
  });
}

const env = {
  [Env.url]: url,
  [Env.deadLetters]: dbPath,
  [Env.retryDelayMs]: String(options.retryDelayMs),
  ...(options.trace ? { [Env.trace]: '1' } : {}),
};
const modules: Array<[string, string]> = [
  [Services.order, 'order-service'],
  [Services.inventory, 'inventory-service'],
  [Services.notification, 'notification-service'],
];
await checkReachable(url);
say('storefront', `starting ${modules.length} service processes on ${redact(url)}; dead letters in ${dbPath}`);
const processes: ServiceProcess[] = modules.map(([name, module]) => forkService(name, module, env, onReport));
for (const { name, exited } of processes) {
  void exited.then(({ code, signal }) => {
    if (stopping) return;
    crash ??= `${name} exited unexpectedly (${signal ?? `code ${code}`})`;
    fail(crash);
  });
}
process.once('SIGINT', () => {
  stopping = true;
  say('storefront', 'interrupted: stopping the services');
  void stopServices(processes, 5_000).finally(() => process.exit(130));
});

const storefront = createService({
  name: 'storefront',
  transport: url,
  handleSignals: false,
  logger: quietLogger('storefront'),
});
storefront.on('sent', ({ outbound, origin }) => {
  if (origin !== 'send') return;
  const headers = outbound.message.headers;
  ledger.sent({
    id: outbound.message.id,
    name: headers['ce-type'] ?? 'unknown',
    kind: headers['ce-kind'] ?? 'unknown',
    ...(outbound.destination.kind === 'send' ? { target: outbound.destination.service } : {}),
  });
});

let problems: string[] = [];
let placed = 0;
const deadline = Date.now() + options.timeoutMs;
try {
  await until(() => ready.size === processes.length, options.timeoutMs, 'the services to start');
  const orders = makeOrders(options.orders);
  say('storefront', `placing ${orders.length} orders with ${Services.order}`);
  for (const order of orders) {
    await storefront.distributedBus.sendCommand(Services.order, PlaceOrder, order);
    placed++;
  }
  say(
    'storefront',
    `${orders.length} orders accepted by the broker; waiting for every message to be handled or dead-lettered`,
  );
  await until(
    () => ledger.missing().length === 0,
    Math.max(1, deadline - Date.now()),
    'every sent message to be handled or dead-lettered',
  );
  say('storefront', 'every message is accounted for: stopping the services with SIGTERM');
} catch (error) {
  problems.push(describeError(error));
  const missing = ledger.missing();
  if (missing.length > 0) {
    const sample = missing.slice(0, 10).map((m) => `${m.name} ${m.id} → ${m.handler}`);
    problems.push(
      `${missing.length} handler deliveries unaccounted for: ${sample.join('; ')}${missing.length > 10 ? '; …' : ''}`,
    );
  }
}

stopping = true;
await storefront.stop().catch((error: unknown) => problems.push(`storefront: ${describeError(error)}`));
const stopProblems = await stopServices(processes, 5_000);
if (stopProblems.length === 0)
  say('storefront', `stopped ${processes.length} services gracefully: SIGTERM, drained, exit 0`);
problems = [...problems, ...stopProblems];
if (launcherSpans)
  printTrace([...spans, ...launcherSpans.getFinishedSpans().map((span) => toReport('storefront', span))]);
const notStored = await checkDeadLetterStore();
const totals = ledger.totals(notStored);
printSummary({
  say: (text) => say('storefront', text),
  ledger,
  totals,
  orders: placed,
  seconds: (performance.now() - started) / 1000,
  url: redact(url),
  dbPath,
  configPath: short(configPath),
  cli: `node ${short(fileURLToPath(new URL('../../../packages/cli/dist/main.js', import.meta.url)))}`,
});
for (const problem of problems) console.error(`shop: ${problem}`);
console.log(JSON.stringify(totals));
process.exit(problems.length === 0 && totals.lost === 0 ? 0 : 1);

/**
 * `--trace`: the trace of one order as an indented tree, from the storefront's
 * send to the last handler; an order whose trace holds a retry or a dead
 * letter when there is one, else the first order.
 */
function printTrace(all: readonly SpanReport[]): void {
  const roots = all
    .filter((span) => span.service === 'storefront' && span.kind === 'producer')
    .sort((a, b) => a.startMs - b.startMs);
  const eventful = roots.find((root) =>
    all.some((span) => span.traceId === root.traceId && span.outcome !== undefined && span.outcome !== 'handled'),
  );
  const chosen = eventful ?? roots[0];
  if (chosen === undefined) {
    say('storefront', 'trace: no span was recorded');
    return;
  }
  const count = all.filter((span) => span.traceId === chosen.traceId).length;
  say('storefront', `trace ${chosen.traceId} of one order (${count} spans, ${all.length} in all):`);
  for (const line of traceTree(all, chosen.traceId)) console.log(`  ${line}`);
}

/** Fail fast, with the transport's own reason, when the broker does not answer (the services would wait for it). */
async function checkReachable(transportUrl: string): Promise<void> {
  try {
    const transport = await transportFromUrl(transportUrl);
    try {
      await transport.ping();
    } finally {
      await transport.close();
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    console.error(
      `shop: cannot use ${redact(transportUrl)}: ${typeof code === 'string' ? `${code}: ` : ''}${describeError(error)}`,
    );
    console.error('shop: start the broker, fix SWITCHYARD_URL, or unset it to run on the embedded SQLite file');
    process.exit(1);
  }
}

/** Every dead letter a service reported must be in the persistent store; resolves with how many are not. */
async function checkDeadLetterStore(): Promise<number> {
  const store = new SqliteDeadLetterStore(dbPath);
  try {
    const records = await store.list();
    let missing = 0;
    for (const reported of ledger.deadLetters()) {
      const record = records.find(
        (r) => r.messageId === reported.id && r.service === reported.service && r.handler === reported.handler,
      );
      if (record) {
        say(
          'storefront',
          `dead letter ${record.id}: ${record.messageName} ${record.messageId} in ${record.service}/${record.handler ?? '*'} — ${record.reason.message}`,
        );
      } else {
        missing++;
        problems.push(
          `dead letter of ${reported.id} (${reported.service}/${reported.handler ?? '*'}) was reported but is not in ${dbPath}`,
        );
      }
    }
    return missing;
  } catch (error) {
    problems.push(`cannot read the dead-letter store ${dbPath}: ${describeError(error)}`);
    return ledger.deadLetters().length;
  } finally {
    await store.close();
  }
}

/** A config file for the `switchyard` CLI, so that the run can be inspected afterwards. */
function writeCliConfig(dir: string, transportUrl: string, deadLetterPath: string): string {
  const path = join(dir, 'switchyard.config.json');
  const config = {
    transports: { default: transportUrl },
    services: {
      [Services.order]: { subscribes: [] },
      [Services.inventory]: { subscribes: ['order.*'] },
      [Services.notification]: { subscribes: ['order.#'] },
    },
    deadLetters: `sqlite:${deadLetterPath}`,
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  return path;
}

/** `path` relative to the working directory when it lies below it, absolute otherwise. */
function short(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}
