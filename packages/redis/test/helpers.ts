import { randomBytes } from 'node:crypto';
import type { TransportMessage } from '@switchyard/core/transport';
import { Redis } from 'ioredis';

/** The Redis the tests use (REDIS_URL overrides). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Rejects fast when Redis does not answer (for brokerReachable). */
export async function probeRedis(): Promise<void> {
  const conn = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2_000,
  });
  conn.on('error', () => {});
  try {
    await conn.connect();
    await conn.ping();
  } finally {
    conn.disconnect();
  }
}

/** A key prefix no other test or suite uses. */
export function uniquePrefix(label: string): string {
  return `sy-test:${label}:${randomBytes(5).toString('hex')}`;
}

/** A unique name for a channel. */
export function uniqueName(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}`;
}

/** A separate connection for inspecting and cleaning up, never the transport's own. */
export function adminConnection(): Redis {
  const conn = new Redis(REDIS_URL, { lazyConnect: true });
  conn.on('error', () => {});
  return conn;
}

/** Delete every key under `prefix` (only ours: never FLUSHALL on the shared Redis). */
export async function deleteKeys(admin: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}

const encoder = new TextEncoder();

/** A message with CloudEvents-like headers and a JSON body. */
export function message(
  id: string,
  payload: unknown = { id },
  extra: Partial<TransportMessage> = {},
): TransportMessage {
  return {
    id,
    headers: { 'ce-id': id, 'ce-type': 'test.message', 'ce-specversion': '1.0', 'content-type': 'application/json' },
    body: encoder.encode(JSON.stringify(payload)),
    ...extra,
  };
}
