import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeadLetterRecord } from '@switchyard/core';
import type { TransportMessage } from '@switchyard/core/transport';
import { SqliteDeadLetterStore } from '@switchyard/sqlite';
import { run } from '../src/index.js';

/** The result of one in-process CLI run. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temp folder with an SQLite file and a config file naming it; `cleanup` removes it. */
export interface Workspace {
  readonly dir: string;
  readonly dbPath: string;
  readonly configPath: string;
  cli(args: readonly string[], env?: Record<string, string | undefined>): Promise<CliResult>;
  cleanup(): void;
}

/** Create a workspace whose config maps the shop's three services on `sqlite:./switchyard.db` (relative to the config). */
export function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  const dbPath = join(dir, 'switchyard.db');
  const configPath = join(dir, 'switchyard.config.json');
  const config = {
    transports: { default: 'sqlite:./switchyard.db' },
    services: {
      'order-service': { subscribes: [] },
      'inventory-service': { subscribes: ['order.*'] },
      'notification-service': { channel: 'notify-inbox', subscribes: ['order.#'] },
    },
    deadLetters: 'sqlite:./switchyard.db',
  };
  writeFileSync(configPath, JSON.stringify(config));
  return {
    dir,
    dbPath,
    configPath,
    cli: (args, env = {}) => runCli(args, { cwd: dir, env }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Run the CLI in-process, capturing its output. */
export async function runCli(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(args, {
    cwd: options.cwd,
    env: options.env ?? {},
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

const encoder = new TextEncoder();

/** A dead-letter record of an `order.placed` event (or `name`), as core would store it. */
export function record(fields: {
  id: string;
  service: string;
  handler?: string;
  channel?: string;
  name?: string;
  orderId: string;
  at: Date;
}): DeadLetterRecord {
  const name = fields.name ?? 'order.placed';
  const messageId = `m-${fields.id}`;
  const message: TransportMessage = {
    id: messageId,
    headers: {
      'ce-specversion': '1.0',
      'ce-id': messageId,
      'ce-type': name,
      'ce-source': 'order-service',
      'ce-time': fields.at.toISOString(),
      'ce-kind': 'event',
      'ce-correlationid': messageId,
      'ce-attempt': '4',
      'content-type': 'application/json',
    },
    body: encoder.encode(JSON.stringify({ orderId: fields.orderId })),
  };
  return {
    id: fields.id,
    messageId,
    messageName: name,
    service: fields.service,
    ...(fields.handler !== undefined ? { handler: fields.handler } : {}),
    channel: fields.channel ?? fields.service,
    reason: {
      code: 'SY_HANDLER_FAILED',
      message: `handler failed for ${fields.orderId}`,
      stack: `Error: boom\n    at handler (shop.ts:1:1)`,
    },
    attempts: 4,
    firstAttemptAt: fields.at.toISOString(),
    deadLetteredAt: fields.at.toISOString(),
    message,
  };
}

/** Three dead letters: an old one of inventory, and two recent ones of notification (two handlers). */
export async function seed(dbPath: string): Promise<DeadLetterRecord[]> {
  const now = Date.now();
  const records = [
    record({
      id: 'dl-old',
      service: 'inventory-service',
      handler: 'ledger',
      orderId: 'o-1',
      at: new Date('2026-01-01T00:00:00Z'),
    }),
    record({
      id: 'dl-mail',
      service: 'notification-service',
      handler: 'email',
      channel: 'notify-inbox',
      orderId: 'o-2',
      at: new Date(now - 3_600_000),
    }),
    record({
      id: 'dl-feed',
      service: 'notification-service',
      handler: 'timeline',
      channel: 'notify-inbox',
      orderId: 'o-3',
      at: new Date(now - 60_000),
    }),
  ];
  const store = new SqliteDeadLetterStore(dbPath);
  try {
    for (const r of records) await store.add(r);
  } finally {
    await store.close();
  }
  return records;
}
