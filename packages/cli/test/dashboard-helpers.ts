import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ServiceRoute } from '@switchyard/core';
import { brokerReachable } from '@switchyard/testing';
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

/** A temp folder with a config mapping the shop's three services: order-service on RabbitMQ, the others on SQLite. */
export interface ShopWorkspace {
  readonly dir: string;
  readonly dbPath: string;
  /** The unique RabbitMQ exchange; queues of this test start with it. */
  readonly exchange: string;
  readonly transports: Record<string, string>;
  readonly services: Record<string, ServiceRoute>;
  readonly config: CliConfig;
  /** Remove the folder and this test's RabbitMQ queues and exchanges. */
  cleanup(): Promise<void>;
}

/** Create a {@link ShopWorkspace} with unique RabbitMQ names. */
export function shopWorkspace(): ShopWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-dashboard-'));
  const dbPath = join(dir, 'switchyard.db');
  const exchange = `sy-dash-${randomUUID().slice(0, 8)}`;
  const transports = { default: `sqlite:${dbPath}`, rabbit: `${rabbitUrl}/?exchange=${exchange}` };
  const services: Record<string, ServiceRoute> = {
    'order-service': { transport: 'rabbit', channel: `${exchange}.orders`, subscribes: [] },
    'inventory-service': { subscribes: ['order.*'] },
    'notification-service': { channel: 'notify-inbox', subscribes: ['order.#'] },
  };
  const configPath = join(dir, 'switchyard.config.json');
  writeFileSync(configPath, JSON.stringify({ transports, services, deadLetters: `sqlite:${dbPath}` }));
  return {
    dir,
    dbPath,
    exchange,
    transports,
    services,
    config: loadConfig({ cwd: dir, env: {}, stdout: () => undefined, stderr: () => undefined }, configPath),
    cleanup: async () => {
      rmSync(dir, { recursive: true, force: true });
      await deleteRabbitObjects(exchange);
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
