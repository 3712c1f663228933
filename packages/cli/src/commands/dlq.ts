import {
  type DeadLetterFilter,
  type DeadLetterRecord,
  Dispatcher,
  ErrorCode,
  replayDeadLetter,
  ServiceMap,
  SwitchyardError,
} from '@switchyard/core';
import type { Command } from 'commander';
import type { CliConfig } from '../config.js';
import type { CommandContext } from '../context.js';
import { details, LIST_HEADER, listRow, table, toJson } from '../format.js';
import { openDeadLetterStore } from '../stores.js';
import { parsePositive, parseTime } from '../time.js';

interface FilterOptions {
  service?: string;
  handler?: string;
  message?: string;
  since?: string;
  until?: string;
  limit?: string;
  json?: boolean;
}

/** `switchyard dlq …`: list, show, replay and delete dead letters of the configured store. */
export function registerDlq(program: Command, context: CommandContext): void {
  const dlq = program
    .command('dlq')
    .description('inspect, replay and delete dead letters in the configured dead-letter store')
    .addHelpText(
      'after',
      '\nThe store is "deadLetters" in the config file, SWITCHYARD_DEAD_LETTERS, or the default SQLite transport.',
    );

  withFilters(dlq.command('list').description('list dead letters, oldest first'))
    .option('--json', 'print the records as JSON')
    .action(async (options: FilterOptions, command: Command) => {
      const records = await withStore(context, command, (store) => store.list(filterOf(options)));
      if (options.json) return context.out.json(records.map((record) => toJson(record, context.verbose(command))));
      if (records.length === 0) return context.out.line('no dead letters match');
      for (const line of table(LIST_HEADER, records.map(listRow))) context.out.line(line);
      context.out.line(`${records.length} dead letter${records.length === 1 ? '' : 's'}`);
    });

  dlq
    .command('show')
    .description('show one dead letter: reason, stack, headers and body')
    .argument('<id>', 'dead-letter record id (from dlq list)')
    .option('--json', 'print the record as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const record = await withStore(context, command, (store) => store.get(id));
      if (!record) throw notFound(id);
      if (options.json) return context.out.json(toJson(record, true));
      for (const line of details(record)) context.out.line(line);
    });

  withFilters(
    dlq
      .command('replay')
      .description('re-send dead letters to the channel they failed on, to the handler that failed, and delete them')
      .argument('[id]', 'dead-letter record id (from dlq list)')
      .option('--all', 'replay every dead letter that matches the filters'),
  )
    .option('--json', 'print the replayed records as JSON')
    .action(async (id: string | undefined, options: FilterOptions & { all?: boolean }, command: Command) => {
      if ((id === undefined) === (options.all !== true)) {
        throw new SwitchyardError(
          ErrorCode.Configuration,
          'give either a dead-letter id or --all (with optional filters)',
        );
      }
      const config = context.config(command);
      const replayed = await withStore(
        context,
        command,
        async (store) => {
          const map = serviceMapOf(config);
          const dispatcher = new Dispatcher(map);
          const done: DeadLetterRecord[] = [];
          try {
            const ids = id !== undefined ? [id] : (await store.list(filterOf(options))).map((record) => record.id);
            for (const next of ids) {
              const record = await replayDeadLetter(store, next, dispatcher).catch((error: unknown) => {
                if (done.length > 0) context.err.line(`replayed ${done.length} of ${ids.length} before this failure`);
                throw error;
              });
              done.push(record);
              if (!options.json) context.out.line(`replayed ${describe(record)} → channel '${record.channel}'`);
            }
          } finally {
            await map.close();
          }
          return done;
        },
        config,
      );
      if (options.json) return context.out.json(replayed.map((record) => toJson(record, false)));
      if (options.all) context.out.line(`replayed ${replayed.length} dead letter${replayed.length === 1 ? '' : 's'}`);
    });

  dlq
    .command('delete')
    .description('delete one dead letter for good')
    .argument('<id>', 'dead-letter record id (from dlq list)')
    .option('--json', 'print the deleted record as JSON')
    .action(async (id: string, options: { json?: boolean }, command: Command) => {
      const record = await withStore(context, command, async (store) => {
        const found = await store.get(id);
        if (!found || !(await store.delete(id))) throw notFound(id);
        return found;
      });
      if (options.json) return context.out.json(toJson(record, false));
      context.out.line(`deleted ${describe(record)}`);
    });
}

function withFilters(command: Command): Command {
  return command
    .option('--service <name>', 'only dead letters of this service')
    .option('--handler <id>', 'only dead letters of this handler')
    .option('--message <name>', 'only messages of this name, e.g. order.placed')
    .option('--since <time>', 'dead-lettered at or after: ISO time or a duration ago (30m, 2h, 7d)')
    .option('--until <time>', 'dead-lettered before: ISO time or a duration ago')
    .option('--limit <n>', 'at most this many records (default 1000)');
}

function filterOf(options: FilterOptions): DeadLetterFilter {
  return {
    ...(options.service !== undefined ? { service: options.service } : {}),
    ...(options.handler !== undefined ? { handler: options.handler } : {}),
    ...(options.message !== undefined ? { messageName: options.message } : {}),
    ...(options.since !== undefined ? { since: parseTime('--since', options.since) } : {}),
    ...(options.until !== undefined ? { until: parseTime('--until', options.until) } : {}),
    ...(options.limit !== undefined ? { limit: parsePositive('--limit', options.limit) } : {}),
  };
}

async function withStore<T>(
  context: CommandContext,
  command: Command,
  work: (store: import('@switchyard/core').DeadLetterStore) => Promise<T>,
  config: CliConfig = context.config(command),
): Promise<T> {
  const opened = openDeadLetterStore(config);
  try {
    return await work(opened.store);
  } finally {
    await opened.close();
  }
}

function serviceMapOf(config: CliConfig): ServiceMap {
  return new ServiceMap({ transports: config.transports, services: config.services });
}

function describe(record: DeadLetterRecord): string {
  return `${record.id} (${record.messageName} ${record.messageId}, ${record.service}/${record.handler ?? '*'})`;
}

function notFound(id: string): SwitchyardError {
  return new SwitchyardError(ErrorCode.NotFound, `no dead letter with id '${id}': see switchyard dlq list`);
}
