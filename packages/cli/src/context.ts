import type { Command } from 'commander';
import { type CliConfig, loadConfig } from './config.js';
import { type CliIo, type Printer, printer } from './io.js';

/** What every command action gets: output, the configuration, and the exit code to return. */
export class CommandContext {
  readonly io: CliIo;
  readonly out: Printer;
  readonly err: Printer;
  /** Exit code of the run; commands set it to 1 for a failure they report themselves (e.g. doctor). */
  exitCode = 0;

  constructor(io: CliIo) {
    this.io = io;
    this.out = printer(io.stdout);
    this.err = printer(io.stderr);
  }

  /** The configuration named by the global `--config` option (see {@link loadConfig}). */
  config(command: Command): CliConfig {
    const { config } = command.optsWithGlobals<{ config?: string }>();
    return loadConfig(this.io, config);
  }

  /** True when the global `--verbose` flag is set. */
  verbose(command: Command): boolean {
    return command.optsWithGlobals<{ verbose?: boolean }>().verbose === true;
  }
}
