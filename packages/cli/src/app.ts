import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AsyncApiOptions } from '@switchyard/asyncapi';
import { ConfigurationError, type Contract, type Service, type ServiceRoute } from '@switchyard/core';
import type { CliConfig } from './config.js';

/** What an application module gives the `asyncapi` and `contracts` commands. */
export interface LoadedApp {
  readonly services: readonly Service[];
  readonly sends: NonNullable<AsyncApiOptions['sends']>;
  readonly info: Pick<AsyncApiOptions, 'title' | 'version' | 'description'>;
  /** Contracts to export besides those of the handlers (e.g. only sent, never handled here). */
  readonly contracts: readonly Contract[];
}

/** The service map handed to a module whose `services` export is a function. */
export interface AppMap {
  readonly transports: Readonly<Record<string, string>>;
  readonly services: Readonly<Record<string, ServiceRoute>>;
}

/**
 * Import the application module: the `--app` path (relative to the working
 * directory) or the config file's `"app"`. The module exports `services`
 * (an array of services built but not started, or a function of the
 * configured service map `{ transports, services }` returning one, possibly
 * async), and optionally `sends` (what each service sends, see
 * `toAsyncApi`), `asyncapi` (`{ title, version, description }`) and
 * `contracts` (more contracts to export). Throws a ConfigurationError naming
 * the fix when there is no module or it exports no services. Services are
 * not started; the caller closes nothing (nothing was connected).
 */
export async function loadApp(config: CliConfig, cwd: string, appOption: string | undefined): Promise<LoadedApp> {
  const path = appOption !== undefined ? resolve(cwd, appOption) : config.app;
  if (path === undefined) {
    throw new ConfigurationError(
      'no application module: pass --app ./dist/system.js or set "app" in switchyard.config.json (a module exporting `services`)',
    );
  }
  if (!existsSync(path)) throw new ConfigurationError(`application module '${path}' does not exist`);
  const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const exported = module.services ?? module.default;
  const map: AppMap = { transports: config.transports, services: config.services };
  const value = typeof exported === 'function' ? await (exported as (map: AppMap) => unknown)(map) : exported;
  if (!Array.isArray(value) || value.length === 0 || !value.every(isService)) {
    throw new ConfigurationError(
      `application module '${path}' must export \`services\`: an array of services made with createService (or a function returning one)`,
    );
  }
  return {
    services: value as Service[],
    sends: (module.sends ?? {}) as LoadedApp['sends'],
    info: (module.asyncapi ?? {}) as LoadedApp['info'],
    contracts: (module.contracts ?? []) as Contract[],
  };
}

/** Duck-typed: the module may resolve another copy of @switchyard/core (sources vs build), where `instanceof` fails. */
function isService(value: unknown): value is Service {
  const candidate = value as Partial<Service> | null;
  return (
    typeof candidate?.name === 'string' &&
    typeof candidate.handlers === 'function' &&
    typeof candidate.serviceMap?.describe === 'function'
  );
}
