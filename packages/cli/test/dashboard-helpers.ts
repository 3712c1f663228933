import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ServiceRoute } from '@switchyard/core';
import { brokerReachable } from '@switchyard/testing';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool } from '../../postgres/test/helpers.js';
import { type CliConfig, loadConfig } from '../src/index.js';

/** The shared RabbitMQ of the machine (or SWITCHYARD_RABBITMQ_URL). */
export const rabbitUrl = process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** True when RabbitMQ answers; skips with a reason on a laptop, throws in CI (SWITCHYARD_REQUIRE_BROKERS=1). */
export function rabbitReachable(): Promise<boolean> {
  return brokerReachable('RabbitMQ at 127.0.0.1:5672', async () => {
    const { default: amqp } = await import('amqplib');
    await (await amqp.connect(rabbitUrl, { timeout: 3_000 })).close();
  });
}

/** True when PostgreSQL answers; skips with a reason on a laptop, throws in CI (SWITCHYARD_REQUIRE_BROKERS=1). */
export function postgresReachable(): Promise<boolean> {
  return brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);
}

/** The shop's application module: which service handles, sends and publishes what. */
const SHOP_APP = fileURLToPath(new URL('../../../examples/shop/src/system.ts', import.meta.url));

/**
 * A temp folder with a config mapping the shop's three services: order-service on RabbitMQ, the
 * others on SQLite; the shop's application module as `app`. With `postgres`, billing-service and
 * shipping-service on PostgreSQL too, in a schema of their own.
 */
export interface ShopWorkspace {
  readonly dir: string;
  readonly dbPath: string;
  /** The unique RabbitMQ exchange; queues of this test start with it. */
  readonly exchange: string;
  /** The PostgreSQL schema (with `postgres`). */
  readonly schema: string | undefined;
  readonly transports: Record<string, string>;
  readonly services: Record<string, ServiceRoute>;
  readonly config: CliConfig;
  /** Remove the folder, this test's RabbitMQ queues and exchanges, and its PostgreSQL schema. */
  cleanup(): Promise<void>;
}

/** Create a {@link ShopWorkspace} with unique RabbitMQ names. */
export function shopWorkspace(options: { postgres?: boolean } = {}): ShopWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-dashboard-'));
  const dbPath = join(dir, 'switchyard.db');
  const id = randomUUID().slice(0, 8);
  const exchange = `sy-dash-${id}`;
  const schema = options.postgres ? `sy_dash_${id.replace(/-/g, '')}` : undefined;
  const transports: Record<string, string> = {
    default: `sqlite:${dbPath}`,
    rabbit: `${rabbitUrl}/?exchange=${exchange}`,
    ...(schema !== undefined ? { pg: `${POSTGRES_URL}?schema=${schema}` } : {}),
  };
  const services: Record<string, ServiceRoute> = {
    'order-service': { transport: 'rabbit', channel: `${exchange}.orders`, subscribes: [] },
    'inventory-service': { subscribes: ['order.*'] },
    'notification-service': { channel: 'notify-inbox', subscribes: ['order.#'] },
    ...(schema !== undefined
      ? {
          'billing-service': { transport: 'pg', subscribes: ['order.placed'] },
          'shipping-service': { transport: 'pg', subscribes: [] },
        }
      : {}),
  };
  const configPath = join(dir, 'switchyard.config.json');
  writeFileSync(configPath, JSON.stringify({ transports, services, deadLetters: `sqlite:${dbPath}`, app: SHOP_APP }));
  return {
    dir,
    dbPath,
    exchange,
    schema,
    transports,
    services,
    config: loadConfig({ cwd: dir, env: {}, stdout: () => undefined, stderr: () => undefined }, configPath),
    cleanup: async () => {
      rmSync(dir, { recursive: true, force: true });
      await deleteRabbitObjects(exchange);
      if (schema !== undefined) await dropSchema(schema);
    },
  };
}

/** Delete the queues whose names start with `<exchange>.`, and the exchange with its delay exchange. */
async function deleteRabbitObjects(exchange: string): Promise<void> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', [
    'list_queues',
    'name',
    '--quiet',
    '--no-table-headers',
  ]).catch(() => ({ stdout: '' }));
  const queues = stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => name.startsWith(`${exchange}.`));
  const { default: amqp } = await import('amqplib');
  const connection = await amqp.connect(rabbitUrl).catch(() => undefined);
  if (!connection) return;
  try {
    for (const name of queues) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(name).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const name of [exchange, `${exchange}.delay`]) {
      const channel = await connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(name).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await connection.close();
  }
}

/** Drop the test's PostgreSQL schema with everything in it. */
async function dropSchema(schema: string): Promise<void> {
  const pool = testPool();
  try {
    await dropSchemas(pool, [schema]);
  } finally {
    await pool.end();
  }
}
