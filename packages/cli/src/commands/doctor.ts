import {
  describeError,
  ErrorCode,
  packageForUrl,
  redact,
  ServiceMap,
  SwitchyardError,
  transportFromUrl,
} from '@switchyard/core';
import { withTimeout } from '@switchyard/core/transport';
import type { Command } from 'commander';
import type { CliConfig } from '../config.js';
import type { CommandContext } from '../context.js';
import { openDeadLetterStore, type StoreSelection, serviceUrl } from '../stores.js';
import { parsePositive } from '../time.js';

/** The outcome of one check. */
export interface CheckResult {
  readonly check: string;
  readonly target: string;
  /** `warn`: works, but something is missing that the operator should know about; it does not fail the run. */
  readonly status: 'ok' | 'warn' | 'fail';
  /** What was found, or what failed, one line. */
  readonly detail: string;
  /** What to do about a failure. */
  readonly hint?: string;
}

/** `switchyard doctor`: is every configured transport and store reachable? Exit code 1 when not. */
export function registerDoctor(program: Command, context: CommandContext): void {
  program
    .command('doctor')
    .description('check the configuration, ping every transport and open the dead-letter store; exit 1 on any problem')
    .option('--timeout <ms>', 'how long the checks may take; they run at once, and closing adds at most 0.5 s', '1500')
    .option('--json', 'print the results as JSON')
    .action(async (options: { timeout: string; json?: boolean }, command: Command) => {
      const timeoutMs = parsePositive('--timeout', options.timeout);
      const config = context.config(command);
      const results = await diagnose(config, timeoutMs);
      const failures = results.filter((result) => result.status === 'fail').length;
      if (failures > 0) context.exitCode = 1;
      if (options.json) return context.out.json(results);
      context.out.line(`switchyard doctor: configuration from ${config.source}`);
      for (const result of results) {
        context.out.line(`${MARKS[result.status]} ${result.check} ${result.target}: ${result.detail}`);
        if (result.hint) context.out.line(`    → ${result.hint}`);
      }
      context.out.line(failures === 0 ? 'everything answers' : `${failures} problem${failures === 1 ? '' : 's'} found`);
    });
}

const MARKS = { ok: '✓', warn: '!', fail: '✗' } as const;

/** Run every check, all at once, each bounded by `timeoutMs`; never rejects (each failure is a result). */
export async function diagnose(config: CliConfig, timeoutMs: number): Promise<CheckResult[]> {
  const checks = Object.entries(config.transports).map(([name, url]) => checkTransport(name, url, timeoutMs));
  const [transports, deadLetters] = await Promise.all([Promise.all(checks), checkDeadLetters(config, timeoutMs)]);
  return [checkMap(config), ...transports, ...deadLetters];
}

/** Bound on closing a transport after its check: an unreachable broker has nothing to close gracefully. */
const CLOSE_BOUND_MS = 500;

function checkMap(config: CliConfig): CheckResult {
  const services = Object.keys(config.services).length;
  const transports = Object.keys(config.transports).length;
  try {
    new ServiceMap({ transports: config.transports, services: config.services });
    return {
      check: 'config',
      target: config.source,
      status: 'ok',
      detail: `${services} service(s) mapped on ${transports} transport(s)`,
    };
  } catch (error) {
    return {
      check: 'config',
      target: config.source,
      status: 'fail',
      detail: errorLine(error),
      hint: 'fix switchyard.config.json (or SWITCHYARD_URL) as the message says',
    };
  }
}

async function checkTransport(name: string, url: string, timeoutMs: number): Promise<CheckResult> {
  const target = `${name} (${redact(url)})`;
  const started = performance.now();
  let transport: Awaited<ReturnType<typeof transportFromUrl>> | undefined;
  try {
    packageForUrl(url);
    transport = await transportFromUrl(url);
    const opened = transport;
    await withTimeout(opened.ping(), timeoutMs, `an answer from ${redact(url)}`);
    return {
      check: 'transport',
      target,
      status: 'ok',
      detail: `${opened.name} answered in ${Math.round(performance.now() - started)} ms`,
    };
  } catch (error) {
    return { check: 'transport', target, status: 'fail', detail: errorLine(error), hint: hintFor(error, url) };
  } finally {
    if (transport)
      await withTimeout(transport.close(), CLOSE_BOUND_MS, 'the transport to close').catch(() => undefined);
  }
}

/**
 * The dead-letter checks: the configured `deadLetters` store, and the store of every mapped
 * service on a broker (each broker keeps a service's dead letters itself). A service on
 * `memory://`, or no store at all, only warns: nothing outside the process can see those.
 */
async function checkDeadLetters(config: CliConfig, timeoutMs: number): Promise<CheckResult[]> {
  const checks: Array<Promise<CheckResult>> = [];
  if (config.deadLetters !== undefined) checks.push(checkStore(config, redact(config.deadLetters), {}, timeoutMs));
  for (const service of Object.keys(config.services)) {
    const url = serviceUrl(config, service);
    if (url === undefined || url.startsWith('sqlite:')) continue;
    const target = `${service} (${redact(url)})`;
    checks.push(
      url.startsWith('memory:')
        ? Promise.resolve({
            check: 'dead letters',
            target,
            status: 'warn',
            detail: 'kept in process memory: the CLI cannot see them',
          })
        : checkStore(config, target, { service }, timeoutMs),
    );
  }
  if (checks.length > 0) return Promise.all(checks);
  return [
    {
      check: 'dead letters',
      target: '(none)',
      status: 'warn',
      detail: 'no dead-letter store configured: the CLI cannot see dead letters',
      hint: 'map the services in switchyard.config.json (a broker keeps their dead letters), or add "deadLetters": "sqlite:./switchyard.db"',
    },
  ];
}

async function checkStore(
  config: CliConfig,
  target: string,
  selection: StoreSelection,
  timeoutMs: number,
): Promise<CheckResult> {
  try {
    const opened = await openDeadLetterStore(config, selection);
    try {
      const count = await withTimeout(opened.store.count(), timeoutMs, 'the dead-letter store to answer');
      return { check: 'dead letters', target, status: 'ok', detail: `readable, ${count} record(s)` };
    } finally {
      await withTimeout(opened.close(), CLOSE_BOUND_MS, 'the store to close').catch(() => undefined);
    }
  } catch (error) {
    const url = selection.service === undefined ? config.deadLetters : serviceUrl(config, selection.service);
    return { check: 'dead letters', target, status: 'fail', detail: errorLine(error), hint: hintFor(error, url ?? '') };
  }
}

/** `SY_CODE: message`, one line. */
export function errorLine(error: unknown): string {
  const code = error instanceof SwitchyardError ? error.code : 'ERROR';
  return `${code}: ${describeError(error).replace(/\s+/g, ' ')}`;
}

/**
 * What to check when a broker does not answer, per transport package: the package comes from
 * core's scheme table (`packageForUrl`), so every scheme core accepts has its hint here.
 */
const BROKER_HINTS: Readonly<Record<string, string>> = {
  '@switchyard/rabbitmq':
    'is RabbitMQ running and reachable at that host and port (over TLS for amqps:)? (locally: rabbitmq-server -detached)',
  '@switchyard/redis':
    'is Redis running and reachable at that host and port (over TLS for rediss:)? (locally: redis-server --daemonize yes)',
  '@switchyard/sqlite': 'does the folder exist and is the file readable and writable by this user?',
  '@switchyard/sqs': 'is the SQS endpoint reachable and are the AWS credentials and region set?',
  '@switchyard/kafka': 'are the Kafka brokers in the URL reachable?',
  '@switchyard/nats': 'is nats-server (with -js) running at that host and port?',
  '@switchyard/postgres': 'is PostgreSQL running, and do the database and user in the URL exist?',
};

function hintFor(error: unknown, url: string): string {
  const code = error instanceof SwitchyardError ? error.code : undefined;
  if (code === ErrorCode.MissingPackage) return 'install the package named above in the application';
  if (code === ErrorCode.Configuration)
    return 'fix the URL: e.g. sqlite:./switchyard.db, amqp://127.0.0.1, redis://127.0.0.1:6379';
  if (code === ErrorCode.NotFound)
    return 'point "deadLetters" at the file the services use, or start a service once to create it';
  let served = '';
  try {
    served = packageForUrl(url);
  } catch {
    // An unparsable URL was reported by packageForUrl already.
  }
  return BROKER_HINTS[served] ?? 'check that the broker is running and that the URL is right';
}
