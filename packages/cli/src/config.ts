import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigurationError, type ServiceRoute } from '@switchyard/core';
import type { CliIo } from './io.js';

/** The default config file name, looked up in the working directory. */
export const CONFIG_FILE = 'switchyard.config.json';

/** What the CLI works against: the service map and the dead-letter store. */
export interface CliConfig {
  /** Where the configuration came from, for messages: a file path, `SWITCHYARD_URL`, or both. */
  readonly source: string;
  /** Named transport URLs; relative `sqlite:` paths already resolved. */
  readonly transports: Readonly<Record<string, string>>;
  /** The service map. */
  readonly services: Readonly<Record<string, ServiceRoute>>;
  /** Dead-letter store URL (`sqlite:…`), when one is configured or can be inferred. */
  readonly deadLetters: string | undefined;
  /** Absolute path of the application module that builds the services (`"app"`), for `asyncapi` and `contracts`. */
  readonly app: string | undefined;
}

/**
 * Load the configuration: the file given with `--config` (an error when it is
 * missing), else `switchyard.config.json` in the working directory when it
 * exists. `SWITCHYARD_URL` sets the `default` transport (over the file's);
 * `SWITCHYARD_DEAD_LETTERS` sets the dead-letter store. Without a
 * `deadLetters` entry, the `default` transport's SQLite file (or the first
 * SQLite transport's) holds the dead letters. Relative `sqlite:` paths are
 * relative to the config file's folder (to the working directory for the
 * environment variables). Throws a ConfigurationError saying what to fix.
 */
export function loadConfig(io: CliIo, configPath: string | undefined): CliConfig {
  const path = configPath !== undefined ? resolve(io.cwd, configPath) : resolve(io.cwd, CONFIG_FILE);
  const sources: string[] = [];
  let file: FileConfig = {};
  if (existsSync(path)) {
    file = readConfigFile(path);
    sources.push(path);
  } else if (configPath !== undefined) {
    throw new ConfigurationError(`config file '${path}' does not exist: pass an existing file to --config`);
  }
  const base = dirname(path);
  const transports: Record<string, string> = {};
  for (const [name, url] of Object.entries(file.transports ?? {})) transports[name] = resolveSqlite(url, base);
  const envUrl = io.env.SWITCHYARD_URL?.trim();
  if (envUrl) {
    transports.default = resolveSqlite(envUrl, io.cwd);
    sources.push('SWITCHYARD_URL');
  }
  let deadLetters = file.deadLetters !== undefined ? resolveSqlite(file.deadLetters, base) : undefined;
  const envDeadLetters = io.env.SWITCHYARD_DEAD_LETTERS?.trim();
  if (envDeadLetters) {
    deadLetters = resolveSqlite(envDeadLetters, io.cwd);
    sources.push('SWITCHYARD_DEAD_LETTERS');
  }
  deadLetters ??= [transports.default, ...Object.values(transports)].find((url) => url?.startsWith('sqlite:'));
  return {
    source: sources.length > 0 ? sources.join(' + ') : 'nothing (no config file, no SWITCHYARD_URL)',
    transports,
    services: file.services ?? {},
    deadLetters,
    app: file.app !== undefined ? resolve(base, file.app) : undefined,
  };
}

/** The shape of `switchyard.config.json`. */
interface FileConfig {
  transports?: Record<string, string>;
  services?: Record<string, ServiceRoute>;
  deadLetters?: string;
  app?: string;
}

function readConfigFile(path: string): FileConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigurationError(`config file '${path}' is not valid JSON: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const where = `config file '${path}'`;
  if (!isObject(raw)) throw new ConfigurationError(`${where} must hold a JSON object`);
  const known = new Set(['transports', 'services', 'deadLetters', 'app', '$schema']);
  for (const key of Object.keys(raw)) {
    if (!known.has(key))
      throw new ConfigurationError(`${where} has an unknown key '${key}': use transports, services, deadLetters, app`);
  }
  if (raw.app !== undefined && typeof raw.app !== 'string') {
    throw new ConfigurationError(
      `${where}: "app" must be the path of a module exporting services, e.g. "./dist/system.js"`,
    );
  }
  const config: FileConfig = {};
  if (raw.transports !== undefined) {
    if (!isObject(raw.transports) || !Object.values(raw.transports).every((v) => typeof v === 'string')) {
      throw new ConfigurationError(
        `${where}: "transports" must map names to URLs, e.g. { "default": "sqlite:./switchyard.db" }`,
      );
    }
    config.transports = raw.transports as Record<string, string>;
  }
  if (raw.services !== undefined) {
    if (!isObject(raw.services)) throw new ConfigurationError(`${where}: "services" must map service names to routes`);
    const services: Record<string, ServiceRoute> = {};
    for (const [name, route] of Object.entries(raw.services)) services[name] = readRoute(where, name, route);
    config.services = services;
  }
  if (typeof raw.app === 'string') config.app = raw.app;
  if (raw.deadLetters !== undefined) {
    if (typeof raw.deadLetters !== 'string')
      throw new ConfigurationError(`${where}: "deadLetters" must be a URL such as "sqlite:./switchyard.db"`);
    config.deadLetters = raw.deadLetters;
  }
  return config;
}

function readRoute(where: string, name: string, route: unknown): ServiceRoute {
  if (!isObject(route))
    throw new ConfigurationError(`${where}: service '${name}' must be an object { transport?, channel?, subscribes? }`);
  const { transport, channel, subscribes } = route;
  if (transport !== undefined && typeof transport !== 'string')
    throw new ConfigurationError(`${where}: services.${name}.transport must be a string`);
  if (channel !== undefined && typeof channel !== 'string')
    throw new ConfigurationError(`${where}: services.${name}.channel must be a string`);
  if (subscribes !== undefined && !(Array.isArray(subscribes) && subscribes.every((p) => typeof p === 'string'))) {
    throw new ConfigurationError(`${where}: services.${name}.subscribes must be a list of routing patterns`);
  }
  return {
    ...(transport !== undefined ? { transport } : {}),
    ...(channel !== undefined ? { channel } : {}),
    ...(subscribes !== undefined ? { subscribes: subscribes as string[] } : {}),
  };
}

/** `sqlite:./x.db` → `sqlite:/base/x.db`; absolute paths, `:memory:` and other schemes are returned unchanged. */
export function resolveSqlite(url: string, base: string): string {
  if (!url.startsWith('sqlite:')) return url;
  const rest = url.slice('sqlite:'.length);
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q);
  if (path === '' || path === ':memory:' || path.startsWith('/') || isAbsolute(path)) return url;
  return `sqlite:${resolve(base, decodeURIComponent(path))}${query}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
