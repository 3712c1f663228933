import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { toAsyncApi, toYaml } from '@switchyard/asyncapi';
import type { Command } from 'commander';
import { loadApp } from '../app.js';
import type { CommandContext } from '../context.js';

/**
 * `switchyard asyncapi [--app module] [--service name] [--out file]`: the
 * AsyncAPI 3.0 document of the application's services (see `loadApp`) on the
 * configured service map. YAML, or JSON when `--out` ends in `.json`; to
 * standard output without `--out`. Fails (exit 1) naming the contract whose
 * schema cannot be converted.
 */
export function registerAsyncApi(program: Command, context: CommandContext): void {
  program
    .command('asyncapi')
    .description('write the AsyncAPI 3.0 document of the services (servers, channels, operations, messages)')
    .option('--app <module>', 'module exporting `services` (default: "app" in the config file)')
    .option('--service <name>', 'describe only this service')
    .option('--out <file>', 'write to this file (.yaml, .yml or .json) instead of standard output')
    .action(async (options: { app?: string; service?: string; out?: string }, command: Command) => {
      const app = await loadApp(context.config(command), context.io.cwd, options.app);
      const document = await toAsyncApi(app.services, {
        ...app.info,
        sends: app.sends,
        ...(options.service !== undefined ? { service: options.service } : {}),
      });
      const json = options.out?.endsWith('.json') === true;
      const text = json ? `${JSON.stringify(document, null, 2)}\n` : toYaml(document);
      if (options.out === undefined) context.io.stdout(text);
      else {
        const path = resolve(context.io.cwd, options.out);
        writeFileSync(path, text);
        const counts = ['channels', 'operations'].map((k) => `${Object.keys(document[k] as object).length} ${k}`);
        context.err.line(`wrote ${path}: ${counts.join(', ')}`);
      }
    });
}
