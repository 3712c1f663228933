import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RoutedMessage, TransportMessage } from '@switchyard/core/transport';
import { afterEach } from 'vitest';
import { SqliteTransport } from '../src/index.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A fresh directory for database files; `cleanup` removes it. */
export function tempDir(): { dir: string; file: (name?: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sy-sqlite-'));
  return {
    dir,
    file: (name = `${randomUUID()}.db`) => join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A transport message with a JSON body `{ n }` and CloudEvents-like headers. */
export function msg(n: number | string, extra: Partial<TransportMessage> = {}): TransportMessage {
  const id = extra.id ?? `m-${n}-${randomUUID().slice(0, 8)}`;
  return {
    id,
    headers: { 'ce-id': id, 'ce-type': 'test.message', 'content-type': 'application/json', 'ce-n': String(n) },
    body: encoder.encode(JSON.stringify({ n })),
    ...extra,
  };
}

/** A routed message for publish. */
export function routed(routingKey: string, n: number, extra: Partial<TransportMessage> = {}): RoutedMessage {
  return { ...msg(n, extra), routingKey };
}

/** The `n` carried in a message body. */
export function bodyN(body: Uint8Array): number | string {
  return (JSON.parse(decoder.decode(body)) as { n: number | string }).n;
}

/** A unique channel name. */
export function channelName(prefix = 'ch'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * A factory of transports on one shared database file in `tmp`; every
 * transport it made is closed after each test. Registers an `afterEach`
 * hook, so call it at module level.
 */
export function sharedFileTransports(
  tmp: ReturnType<typeof tempDir>,
): (options?: Partial<ConstructorParameters<typeof SqliteTransport>[0]>) => SqliteTransport {
  const open: SqliteTransport[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });
  return (options = {}) => {
    const t = new SqliteTransport({ path: tmp.file('shared.db'), ...options });
    open.push(t);
    return t;
  };
}
