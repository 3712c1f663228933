import { existsSync } from 'node:fs';
import {
  ConfigurationError,
  type DeadLetterStore,
  ErrorCode,
  redact,
  SwitchyardError,
  type Transport,
  transportFromUrl,
} from '@switchyard/core';
import { parseSqliteUrl, SqliteDeadLetterStore } from '@switchyard/sqlite';
import type { CliConfig } from './config.js';

/** A dead-letter store the CLI opened; `close` releases it (and the transport opened for it). */
export interface OpenStore {
  /** The URL it was opened from (password redacted), for messages. */
  readonly url: string;
  /** The service whose store this is, when the store is per service (broker stores). */
  readonly service: string | undefined;
  readonly store: DeadLetterStore;
  /**
   * The transport of the URL the store was opened from (opened on first call, closed with the
   * store): replay sends through it when the config maps the service nowhere else.
   */
  readonly transport?: () => Promise<Transport>;
  close(): Promise<void>;
}

/** Where `dlq` looks: `--url` and `--service` from the command line. */
export interface StoreSelection {
  readonly url?: string;
  readonly service?: string;
}

/**
 * Open the dead-letter store the command line or the configuration names:
 *
 * 1. `--url <url>`: a `sqlite:` file is opened as the SQLite store (all services in one table;
 *    the file must exist). Any other URL is a transport URL: the transport's package is loaded
 *    (as a service would) and asked for its store of `--service` through the transport hook
 *    `deadLetterStore(service)`; so a package that offers the hook works here with no change.
 * 2. `--service <name>` alone: where that service lives, from the config's service map (its
 *    transport's URL), then as in 1.
 * 3. Neither: the config's `deadLetters` store (a `sqlite:` URL).
 *
 * Throws a ConfigurationError saying what to pass (nothing configured, a broker URL without
 * `--service`, a transport without a dead-letter store) or SY_NOT_FOUND (no such SQLite file).
 */
export async function openDeadLetterStore(config: CliConfig, selection: StoreSelection = {}): Promise<OpenStore> {
  const service = selection.service;
  const url = selection.url ?? (service !== undefined ? serviceUrl(config, service) : config.deadLetters);
  if (url === undefined) {
    throw new ConfigurationError(
      `no dead-letter store configured (config from ${config.source}): pass --url amqp://… --service <name>, --service <name> with a service map in switchyard.config.json, or add "deadLetters": "sqlite:./switchyard.db"`,
    );
  }
  if (url.startsWith('sqlite:')) return openSqlite(url, service);
  if (service === undefined) {
    throw new ConfigurationError(
      `dead letters on '${redact(url)}' are kept per service: pass --service <name> to say whose`,
    );
  }
  const transport = await transportFromUrl(url);
  if (typeof transport.deadLetterStore !== 'function') {
    await transport.close();
    throw new ConfigurationError(
      `transport '${transport.name}' (${redact(url)}) offers no dead-letter store: open the store the services use instead (--url sqlite:… or postgres://…)`,
    );
  }
  const store = transport.deadLetterStore(service);
  return {
    url: redact(url),
    service,
    store,
    transport: async () => transport,
    close: () => closeBoth(store, transport),
  };
}

/** The transport URL of `service` in the config's service map (its transport, or the default one). */
export function serviceUrl(config: CliConfig, service: string): string | undefined {
  const names = Object.keys(config.transports);
  const name = config.services[service]?.transport ?? ('default' in config.transports ? 'default' : names[0]);
  return name === undefined ? undefined : config.transports[name];
}

function openSqlite(url: string, service: string | undefined): OpenStore {
  const { path } = parseSqliteUrl(url);
  if (path !== ':memory:' && !existsSync(path)) {
    throw new SwitchyardError(
      ErrorCode.NotFound,
      `dead-letter database '${path}' does not exist: check "deadLetters" in the config, or run a service with this store first`,
    );
  }
  const store = new SqliteDeadLetterStore(path);
  let transport: Promise<Transport> | undefined;
  return {
    url,
    service,
    store,
    transport: () => {
      transport ??= transportFromUrl(url);
      return transport;
    },
    close: async () => {
      await store.close();
      await (await transport?.catch(() => undefined))?.close();
    },
  };
}

async function closeBoth(store: DeadLetterStore, transport: Transport): Promise<void> {
  try {
    await store.close?.();
  } finally {
    await transport.close();
  }
}
