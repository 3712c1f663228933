/**
 * Where the CLI reads its environment and writes its output. The binary uses
 * the process; tests pass their own to run the CLI in-process.
 */
export interface CliIo {
  /** Write to standard output (text is written as given; lines end with `\n`). */
  readonly stdout: (text: string) => void;
  /** Write to standard error. */
  readonly stderr: (text: string) => void;
  /** Environment variables (`SWITCHYARD_URL`, `SWITCHYARD_DEAD_LETTERS`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths (config file, `sqlite:./x.db`) resolve against. */
  readonly cwd: string;
}

/** The process's own streams, environment and working directory. */
export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Writes whole lines to one stream. */
export interface Printer {
  line(text?: string): void;
  json(value: unknown): void;
}

/** A printer over `write`. */
export function printer(write: (text: string) => void): Printer {
  return {
    line: (text = '') => write(`${text}\n`),
    json: (value) => write(`${JSON.stringify(value, null, 2)}\n`),
  };
}
