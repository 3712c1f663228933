import { resolveSends } from '@switchyard/asyncapi';
import { loadApp } from '../app.js';
import type { CliConfig } from '../config.js';

/** A message a service sends: a command (with its target service when known) or an event it publishes. */
export interface SentType {
  readonly name: string;
  readonly kind: string;
  /** The service that receives a command; absent for events. */
  readonly to?: string;
}

/** What one service of the application declares: the types it handles and those it sends or publishes. */
export interface ServiceMessages {
  readonly service: string;
  /** Distributed handlers: message names, or event patterns. */
  readonly handles: readonly { readonly kind: string; readonly pattern: string }[];
  readonly sends: readonly SentType[];
}

/** What the dashboard knows about who sends what, or why it does not. */
export interface MessagesView {
  /** Where it came from: the application module's path; absent when unknown. */
  readonly source?: string;
  readonly services: readonly ServiceMessages[];
  /** Why nothing is known (no `"app"` in the config, or the module failed to load). */
  readonly error?: string;
}

/**
 * Which services handle, send and publish which message types, from the application module the
 * config names (`"app"`, the module `switchyard asyncapi` and `contracts export` read, loaded
 * the same way): handlers from the services built there (never started, nothing connects), sends
 * from its `sends` declaration, a command's target resolved by `resolveSends` as in the AsyncAPI
 * document (the declared `to`, else the service that handles it). Never rejects: without a module, or when it fails to load,
 * `error` says why and the lists are empty.
 */
export async function messagesOf(config: CliConfig, cwd: string): Promise<MessagesView> {
  if (config.app === undefined)
    return { services: [], error: 'not known: add "app" (the module exporting `services` and `sends`) to the config' };
  try {
    const app = await loadApp(config, cwd, undefined);
    const names = new Set([...app.services.map((s) => s.name), ...Object.keys(app.sends)]);
    return {
      source: config.app,
      services: [...names].map((service) => ({
        service,
        handles: (app.services.find((s) => s.name === service)?.handlers() ?? [])
          .filter((h) => h.distributed)
          .map((h) => ({ kind: h.kind, pattern: h.pattern })),
        sends: resolveSends(service, app.sends, app.services).map(({ contract, to }) => ({
          name: contract.name,
          kind: contract.kind,
          ...(to !== undefined ? { to } : {}),
        })),
      })),
    };
  } catch (error) {
    return {
      services: [],
      error: `cannot load the application module: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
