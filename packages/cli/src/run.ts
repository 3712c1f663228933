import { SwitchyardError } from '@switchyard/core';
import { Command, CommanderError } from 'commander';
import { registerAsyncApi } from './commands/asyncapi.js';
import { registerContracts } from './commands/contracts.js';
import { registerDlq } from './commands/dlq.js';
import { registerDoctor } from './commands/doctor.js';
import { registerTopology } from './commands/topology.js';
import { CommandContext } from './context.js';
import { type CliIo, processIo } from './io.js';

/** Exit codes of the CLI. */
export const ExitCode = {
  ok: 0,
  /** The command failed (an error, a failed check, a missing record). */
  failure: 1,
  /** The command line was wrong (unknown command or option, missing argument). */
  usage: 2,
} as const;

/**
 * Run the `switchyard` CLI with `argv` (the arguments after the program name)
 * and resolve with its exit code. Never rejects and never exits the process:
 * an error is printed as one line, `switchyard: <code>: <message>`, on
 * `io.stderr` (with its stack and causes under `--verbose`). Every run builds
 * its own commander program, so calls are independent.
 */
export async function run(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const context = new CommandContext({ ...processIo(), ...io });
  const program = buildProgram(context);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return context.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
      ) {
        return ExitCode.ok;
      }
      // commander printed its own one-line message already.
      return ExitCode.usage;
    }
    report(context, error, argv.includes('--verbose') || argv.includes('-v'));
    return ExitCode.failure;
  }
}

function buildProgram(context: CommandContext): Command {
  const program = new Command('switchyard')
    .description('Switchyard operations: dead letters, topology and health of the configured transports')
    .option('-c, --config <file>', 'config file (default: ./switchyard.config.json when it exists)')
    .option('-v, --verbose', 'print stacks and causes of errors')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: context.io.stdout, writeErr: context.io.stderr })
    .addHelpText(
      'after',
      `
Configuration: switchyard.config.json (or --config):
  { "transports": { "default": "sqlite:./switchyard.db" },
    "services": { "order-service": { "transport": "default", "channel": "order-service", "subscribes": ["order.*"] } },
    "deadLetters": "sqlite:./switchyard.db", "app": "./dist/system.js" }
"app" is a module exporting \`services\` (built, not started), for asyncapi and contracts export.
SWITCHYARD_URL sets the default transport, SWITCHYARD_DEAD_LETTERS the dead-letter store.
Exit codes: 0 ok, 1 failure, 2 wrong usage.`,
    );
  registerDlq(program, context);
  registerTopology(program, context);
  registerDoctor(program, context);
  registerAsyncApi(program, context);
  registerContracts(program, context);
  return program;
}

function report(context: CommandContext, error: unknown, verbose: boolean): void {
  const code = error instanceof SwitchyardError ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  context.err.line(`switchyard: ${code}: ${message.replace(/\s*\n\s*/g, ' ')}`);
  if (!verbose) return;
  let current: unknown = error;
  while (current !== undefined && current !== null) {
    context.err.line(current instanceof Error ? (current.stack ?? String(current)) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) context.err.line('caused by:');
  }
}
