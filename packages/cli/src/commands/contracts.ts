import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { diffContracts, exportContracts, parseContractsFile } from '@switchyard/asyncapi';
import { ConfigurationError } from '@switchyard/core';
import type { Command } from 'commander';
import { loadApp } from '../app.js';
import type { CommandContext } from '../context.js';
import { table } from '../format.js';

/**
 * `switchyard contracts export [--app module] [--out contracts.json]` writes
 * every contract of the application (its handlers' and the module's
 * `contracts` and `sends`) as JSON Schemas; `switchyard contracts diff old.json
 * new.json [--json]` compares two such files and exits 1 when a change breaks
 * consumers or producers (0 otherwise), for CI.
 */
export function registerContracts(program: Command, context: CommandContext): void {
  const contracts = program.command('contracts').description('export contracts as JSON Schema; check compatibility');
  contracts
    .command('export')
    .description('write the JSON Schema of every contract (the input of "contracts diff")')
    .option('--app <module>', 'module exporting `services` (default: "app" in the config file)')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (options: { app?: string; out?: string }, command: Command) => {
      const app = await loadApp(context.config(command), context.io.cwd, options.app);
      const sent = Object.values(app.sends).flatMap((list) => list.map((e) => ('contract' in e ? e.contract : e)));
      const file = await exportContracts(app.services, [...app.contracts, ...sent]);
      const text = `${JSON.stringify(file, null, 2)}\n`;
      if (options.out === undefined) context.io.stdout(text);
      else {
        writeFileSync(resolve(context.io.cwd, options.out), text);
        context.err.line(
          `wrote ${Object.keys(file.contracts).length} contracts to ${resolve(context.io.cwd, options.out)}`,
        );
      }
    });
  contracts
    .command('diff')
    .description('compare two contract exports; exit 1 when a change breaks consumers or producers')
    .argument('<old>', 'contracts file before the change')
    .argument('<new>', 'contracts file after the change')
    .option('--json', 'print the diff as JSON')
    .action((oldPath: string, newPath: string, options: { json?: boolean }) => {
      const before = parseContractsFile(read(context.io.cwd, oldPath), oldPath);
      const after = parseContractsFile(read(context.io.cwd, newPath), newPath);
      const diff = diffContracts(before, after);
      if (options.json) context.out.json(diff);
      else if (diff.changes.length === 0) context.out.line('no contract changes');
      else {
        const rows = diff.changes.map((c) => [
          c.contract,
          c.rule,
          c.breaks.length === 0 ? 'compatible' : `breaks ${c.breaks.join(', ')}`,
          c.description,
        ]);
        for (const line of table(['CONTRACT', 'RULE', 'VERDICT', 'CHANGE'], rows)) context.out.line(line);
        context.out.line();
        context.out.line(
          `consumers: ${diff.breaksConsumers ? 'BREAKING' : 'compatible'}; producers: ${diff.breaksProducers ? 'BREAKING' : 'compatible'}`,
        );
      }
      if (diff.breaksConsumers || diff.breaksProducers) context.exitCode = 1;
    });
}

function read(cwd: string, path: string): string {
  try {
    return readFileSync(resolve(cwd, path), 'utf8');
  } catch (error) {
    throw new ConfigurationError(`cannot read contracts file '${path}': ${(error as Error).message}`, { cause: error });
  }
}
