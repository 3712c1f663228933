import { mkdir } from 'node:fs/promises';
import { ConfigurationError, ErrorCode } from '../errors.js';
import type { Transport } from './types.js';

/**
 * The transport of a service created without `transport` or `transports`: the
 * embedded SQLite database `./.switchyard/switchyard.db`, relative to the
 * working directory. Its directory is created on first use; the package
 * `@switchyard/sqlite` must be installed (otherwise SY_MISSING_PACKAGE says so).
 */
export const DEFAULT_TRANSPORT_URL = 'sqlite:./.switchyard/switchyard.db';

/**
 * The scheme table: which package serves each transport URL scheme. Each
 * package is imported only when a URL of its scheme is used, so an application
 * installs just the brokers it talks to. A transport package exports
 * `transportFromUrl(url): Transport`. The CLI's doctor reads the same table.
 */
export const TRANSPORT_SCHEMES: Readonly<Record<string, string>> = {
  'memory:': '@switchyard/core/memory',
  'sqlite:': '@switchyard/sqlite',
  'amqp:': '@switchyard/rabbitmq',
  'amqps:': '@switchyard/rabbitmq',
  'redis:': '@switchyard/redis',
  'rediss:': '@switchyard/redis',
  'sqs:': '@switchyard/sqs',
  'sqss:': '@switchyard/sqs',
  'kafka:': '@switchyard/kafka',
  'nats:': '@switchyard/nats',
  'postgres:': '@switchyard/postgres',
  'postgresql:': '@switchyard/postgres',
};

/**
 * The scheme of `url`, lower case with its colon (`amqp:`), or undefined when it has none. The
 * scheme alone decides the package; the rest is the transport's to parse (a Kafka URL lists several
 * brokers, which WHATWG URL parsing rejects).
 */
export function schemeOf(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*:)/i.exec(typeof url === 'string' ? url : '')?.[1]?.toLowerCase();
}

/** The package that serves `url`; throws a ConfigurationError for an unparsable URL or an unknown scheme. */
export function packageForUrl(url: string): string {
  const scheme = schemeOf(url);
  if (scheme === undefined) {
    throw new ConfigurationError(
      `transport URL '${String(url)}' is not a URL: use e.g. 'memory://', 'sqlite:./switchyard.db' or 'amqp://127.0.0.1'`,
    );
  }
  const name = TRANSPORT_SCHEMES[scheme];
  if (name === undefined) {
    throw new ConfigurationError(
      `transport URL scheme '${scheme}' is unknown: use one of ${Object.keys(TRANSPORT_SCHEMES).join(' ')}`,
    );
  }
  return name;
}

/** Build the transport for `url`, importing its package. Rejects with code SY_MISSING_PACKAGE naming the package to install. */
export async function transportFromUrl(url: string): Promise<Transport> {
  const name = packageForUrl(url);
  if (name === '@switchyard/core/memory') return memoryTransport(url);
  if (url === DEFAULT_TRANSPORT_URL) await mkdir('.switchyard', { recursive: true });
  let module: { transportFromUrl?: (url: string) => Transport };
  try {
    module = (await import(name)) as typeof module;
  } catch (error) {
    if (isModuleNotFound(error)) {
      throw new ConfigurationError(
        `transport URL '${redact(url)}' needs the package ${name}: run 'npm install ${name}'`,
        {
          cause: error,
          code: ErrorCode.MissingPackage,
        },
      );
    }
    throw error;
  }
  if (typeof module.transportFromUrl !== 'function') {
    throw new ConfigurationError(
      `package ${name} does not export transportFromUrl(url): upgrade it to match @switchyard/core`,
    );
  }
  return module.transportFromUrl(url);
}

/** `//user:password@` of a URL; a password cannot hold an unescaped `/`, `?`, `#` or `@`. */
const USER_INFO_PASSWORD = /\/\/([^:@/?#]*):[^@/?#]*@/g;

/**
 * `url` with every password replaced by `***` (`amqp://user:***@host`), for messages, logs and
 * output. Works on text that is no single URL too: a NATS server list
 * (`nats://u:a@h1,nats://v:b@h2`) has each of its passwords masked. Only the user-info part is
 * touched (user names stay readable); a string without one is returned unchanged. Pure.
 */
export function redact(url: string): string {
  return url.replace(USER_INFO_PASSWORD, '//$1:***@');
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

const memoryBrokers = new Map<string, import('../memory/broker.js').MemoryBroker>();

/**
 * `memory://<name>`: every transport with the same name in this process shares
 * one broker, so several services in one process talk to each other.
 */
async function memoryTransport(url: string): Promise<Transport> {
  const { MemoryBroker, MemoryTransport } = await import('../memory/index.js');
  const name = /^memory:\/\/([^/?#]*)/.exec(url)?.[1] || 'default';
  let broker = memoryBrokers.get(name);
  if (!broker) {
    broker = new MemoryBroker();
    memoryBrokers.set(name, broker);
  }
  return new MemoryTransport({ broker });
}
