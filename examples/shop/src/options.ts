import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** How the launcher runs. */
export interface ShopOptions {
  /** Orders to place (default 20). */
  readonly orders: number;
  /** Folder of the SQLite file and the CLI config (default `.switchyard`, emptied of the old database each run). */
  readonly dir: string;
  /** Transport every service uses: SWITCHYARD_URL, or the SQLite file in `dir`. */
  readonly url: string | undefined;
  /** Bound on waiting for every sent message to be accounted for (default 15,000 ms). */
  readonly timeoutMs: number;
  /** Initial delay of the notification service's delayed retries (default 200 ms). */
  readonly retryDelayMs: number;
  /** Print the trace of the first order as a tree (OpenTelemetry SDK in every process). */
  readonly trace: boolean;
}

const USAGE = `usage: node dist/main.js [--orders N] [--dir PATH] [--timeout MS] [--retry-delay MS] [--trace]
  Runs order-service, inventory-service and notification-service as separate processes,
  places N orders and accounts for every message. Transport: SWITCHYARD_URL (e.g. amqp://127.0.0.1),
  default: an SQLite file in --dir (fresh each run).`;

/** Parse the command line; prints the usage and exits on --help or on a bad option. */
export function parseOptions(argv: readonly string[]): ShopOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        orders: { type: 'string' },
        dir: { type: 'string' },
        timeout: { type: 'string' },
        'retry-delay': { type: 'string' },
        trace: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    orders: positive('--orders', values.orders ?? process.env.SHOP_ORDERS, 20),
    dir: resolve(typeof values.dir === 'string' ? values.dir : (process.env.SHOP_DIR ?? '.switchyard')),
    url: process.env.SWITCHYARD_URL || undefined,
    timeoutMs: positive('--timeout', values.timeout, 15_000),
    retryDelayMs: positive('--retry-delay', values['retry-delay'], 200),
    trace: values.trace === true,
  };
}

function positive(name: string, raw: string | boolean | undefined, fallback: number): number {
  if (raw === undefined || typeof raw === 'boolean') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`${name} must be a positive integer, got '${raw}'\n${USAGE}`);
    process.exit(2);
  }
  return value;
}
