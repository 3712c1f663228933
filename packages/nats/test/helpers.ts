import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';

/** The shared NATS server the tests use (NATS_URL overrides). Never stopped or purged by tests. */
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** host and port of {@link NATS_URL}. */
export const NATS_ADDRESS = (() => {
  const parsed = new URL(NATS_URL);
  return { host: parsed.hostname, port: Number(parsed.port || 4222) };
})();

/** Rejects fast when NATS with JetStream does not answer (for brokerReachable). */
export async function probeNats(): Promise<void> {
  const nc = await connect({ servers: NATS_URL.replace('nats://', ''), timeout: 2_000, reconnect: false });
  try {
    await (await jetstreamManager(nc)).getAccountInfo();
  } finally {
    await nc.close();
  }
}

/** A prefix (stream name) no other test or suite uses. */
export function uniquePrefix(label: string): string {
  return `sytest_${label}_${randomBytes(4).toString('hex')}`;
}

/** A separate connection for inspecting and cleaning up, never a transport's own. */
export async function adminConnection(url = NATS_URL): Promise<NatsConnection> {
  return connect({ servers: url.replace('nats://', ''), timeout: 2_000 });
}

/** Delete the streams of `prefix` (only ours: never anything else on the shared server). */
export async function deleteStreams(prefix: string, url = NATS_URL): Promise<void> {
  const nc = await adminConnection(url);
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of [prefix, `${prefix}_dlq`]) await jsm.streams.delete(stream).catch(() => {});
  } finally {
    await nc.close();
  }
}
