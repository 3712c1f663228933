import {
  type DeadLetterFilter,
  type DeadLetterRecord,
  Dispatcher,
  ErrorCode,
  type OutboundMessage,
  replayDeadLetter,
  type SendOrigin,
  ServiceMap,
  SwitchyardError,
} from '@switchyard/core';
import type { Command } from 'commander';
import type { CliConfig } from '../config.js';
import type { CommandContext } from '../context.js';
import { details, LIST_HEADER, listRow, table, toJson } from '../format.js';
import { type OpenStore, openDeadLetterStore } from '../stores.js';
import { parsePositive, parseTime } from '../time.js';

interface WhereOptions {
  url?: string;
  service?: string;
}

interface FilterOptions extends WhereOptions {
  handler?: string;
  message?: string;
  type?: string;
  code?: string;
  search?: string;
  since?: string;
  until?: string;
  limit?: string;
  offset?: string;
  json?: boolean;
}

/** `switchyard dlq …`: list, show, count, replay and delete dead letters, on any transport or store. */
export function registerDlq(program: Command, context: CommandContext): void {
  const dlq = program
    .command('dlq')
    .description('inspect, replay and delete dead letters, on the broker of a service or in a store')
    .addHelpText(
      'after',
      `
Where the dead letters are:
  --url <transport or store URL> --service <name>   e.g. --url amqp://127.0.0.1 --service order-service
                                                     (redis://, sqs://, kafka://, sqlite:, postgres://, nats://)
  --service <name>                                  the service's transport from the config's service map
  (neither)                                         "deadLetters" in the config file, or SWITCHYARD_DEAD_LETTERS`,
    );

  withFilters(where(dlq.command('list').description('list dead letters, oldest first')))
    .option('--json', 'print the records as JSON')
    .action(async (options: FilterOptions, command: Command) => {
      const records = await withStore(context, command, options, (opened) => opened.store.list(filterOf(options)));
      if (options.json) return context.out.json(records.map((record) => toJson(record, context.verbose(command))));
      if (records.length === 0) return context.out.line('no dead letters match');
      const now = Date.now();
      for (const line of table(
        LIST_HEADER,
        records.map((record) => listRow(record, now)),
      ))
        context.out.line(line);
      context.out.line(`${records.length} dead letter${records.length === 1 ? '' : 's'}`);
    });

  withFilters(where(dlq.command('count').description('count the dead letters that match the filters')))
    .option('--json', 'print { "count": n } as JSON')
    .action(async (options: FilterOptions, command: Command) => {
      const count = await withStore(context, command, options, (opened) => opened.store.count(filterOf(options)));
      if (options.json) return context.out.json({ count });
      context.out.line(String(count));
    });

  where(
    dlq
      .command('show')
      .description('show one dead letter: reason, stack, headers and body')
      .argument('<id>', 'dead-letter record id (from dlq list)'),
  )
    .option('--json', 'print the record as JSON')
    .action(async (id: string, options: WhereOptions & { json?: boolean }, command: Command) => {
      const record = await withStore(context, command, options, (opened) => opened.store.get(id));
      if (!record) throw notFound(id);
      if (options.json) return context.out.json(toJson(record, true));
      for (const line of details(record)) context.out.line(line);
    });

  withFilters(
    where(
      dlq
        .command('replay')
        .description(
          're-send dead letters to the handler that failed, through the service map; each record is deleted once the broker confirmed',
        )
        .argument('[id]', 'dead-letter record id (from dlq list)')
        .option('--all', 'replay every dead letter that matches the filters'),
    ),
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
        options,
        async (opened) => {
          const map = serviceMapOf(config);
          const dispatcher = replayDispatcher(config, map, opened);
          const done: DeadLetterRecord[] = [];
          try {
            const ids =
              id !== undefined ? [id] : (await opened.store.list(filterOf(options))).map((record) => record.id);
            for (const next of ids) {
              const record = await replayDeadLetter(opened.store, next, dispatcher).catch((error: unknown) => {
                if (done.length > 0) context.err.line(`replayed ${done.length} of ${ids.length} before this failure`);
                throw error;
              });
              done.push(record);
              if (!options.json) context.out.line(`replayed ${describe(record)} → channel '${record.channel}'`);
            }
          } finally {
            await map?.close();
          }
          return done;
        },
        config,
      );
      if (options.json) return context.out.json(replayed.map((record) => toJson(record, false)));
      if (options.all) context.out.line(`replayed ${replayed.length} dead letter${replayed.length === 1 ? '' : 's'}`);
    });

  where(
    dlq
      .command('delete')
      .description('delete one dead letter for good')
      .argument('<id>', 'dead-letter record id (from dlq list)'),
  )
    .option('--json', 'print the deleted record as JSON')
    .action(async (id: string, options: WhereOptions & { json?: boolean }, command: Command) => {
      const record = await withStore(context, command, options, async (opened) => {
        const found = await opened.store.get(id);
        if (!found || !(await opened.store.delete(id))) throw notFound(id);
        return found;
      });
      if (options.json) return context.out.json(toJson(record, false));
      context.out.line(`deleted ${describe(record)}`);
    });
}

function where(command: Command): Command {
  return command
    .option(
      '--url <url>',
      'transport or store URL holding the dead letters (amqp://, redis://, sqs://, kafka://, sqlite:, …)',
    )
    .option('--service <name>', 'the service whose dead letters these are (and a filter on shared stores)');
}

function withFilters(command: Command): Command {
  return command
    .option('--handler <id>', 'only dead letters of this handler')
    .option('--type <name>', 'only messages of this type (name), e.g. order.placed')
    .option('--message <name>', 'same as --type')
    .option('--code <code>', 'only this error code, e.g. SY_NO_HANDLER, SY_VALIDATION, SY_HANDLER_FAILED')
    .option('--search <text>', 'only dead letters whose error message contains this text (any case)')
    .option('--since <time>', 'dead-lettered at or after: ISO time or a duration ago (30m, 2h, 7d)')
    .option('--until <time>', 'dead-lettered before: ISO time or a duration ago')
    .option('--offset <n>', 'skip this many matching records first (paging)')
    .option('--limit <n>', 'at most this many records (default 1000)');
}

function filterOf(options: FilterOptions): DeadLetterFilter {
  const messageName = options.type ?? options.message;
  return {
    ...(options.service !== undefined ? { service: options.service } : {}),
    ...(options.handler !== undefined ? { handler: options.handler } : {}),
    ...(messageName !== undefined ? { messageName } : {}),
    ...(options.code !== undefined ? { code: options.code } : {}),
    ...(options.search !== undefined ? { search: options.search } : {}),
    ...(options.since !== undefined ? { since: parseTime('--since', options.since) } : {}),
    ...(options.until !== undefined ? { until: parseTime('--until', options.until) } : {}),
    ...(options.offset !== undefined ? { offset: parsePositive('--offset', options.offset) } : {}),
    ...(options.limit !== undefined ? { limit: parsePositive('--limit', options.limit) } : {}),
  };
}

async function withStore<T>(
  context: CommandContext,
  command: Command,
  options: WhereOptions,
  work: (opened: OpenStore) => Promise<T>,
  config: CliConfig = context.config(command),
): Promise<T> {
  const opened = await openDeadLetterStore(config, {
    ...(options.url !== undefined ? { url: options.url } : {}),
    ...(options.service !== undefined ? { service: options.service } : {}),
  });
  try {
    return await work(opened);
  } finally {
    await opened.close();
  }
}

/** The config's service map (to replay through), or undefined when the config names no transports. Close it after use. */
export function serviceMapOf(config: CliConfig): ServiceMap | undefined {
  if (Object.keys(config.transports).length === 0) return undefined;
  return new ServiceMap({ transports: config.transports, services: config.services });
}

/**
 * Core's one send path for replays: through the config's service map when it maps the record's
 * service (or nothing else is given), else to the `--url` / `deadLetters` transport, whose service
 * map has that one transport. Rejects with SY_NO_ROUTE when there is neither.
 */
export function replayDispatcher(
  config: CliConfig,
  map: ServiceMap | undefined,
  opened: OpenStore,
): Pick<Dispatcher, 'dispatch'> {
  const viaMap = map ? new Dispatcher(map) : undefined;
  let viaUrl: Dispatcher | undefined;
  return {
    async dispatch(outbound: OutboundMessage, origin?: SendOrigin): Promise<void> {
      const service = outbound.destination.kind === 'send' ? outbound.destination.service : undefined;
      if (viaMap && (service === undefined || config.services[service] !== undefined || !opened.transport)) {
        return viaMap.dispatch(outbound, origin);
      }
      if (opened.transport) {
        viaUrl ??= new Dispatcher(new ServiceMap({ transports: { default: await opened.transport() } }));
        return viaUrl.dispatch(outbound, origin);
      }
      throw new SwitchyardError(
        ErrorCode.NoRoute,
        `no transport to replay a dead letter of service '${service ?? '?'}' to: add the service to the config's service map or pass --url`,
      );
    },
  };
}

function describe(record: DeadLetterRecord): string {
  return `${record.id} (${record.messageName} ${record.messageId}, ${record.service}/${record.handler ?? '*'})`;
}

function notFound(id: string): SwitchyardError {
  return new SwitchyardError(ErrorCode.NotFound, `no dead letter with id '${id}': see switchyard dlq list`);
}
