import { errors, type NatsConnection } from '@nats-io/transport-node';
import { runReplyChannelSuite } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { adminConnection, deleteStreams, NATS_URL, probeNats, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix('replies');
let admin: NatsConnection | undefined;
afterAll(async () => {
  await admin?.close();
  await deleteStreams(prefix).catch(() => undefined);
});

/**
 * Whether the server has a subscriber on `subject`: a request there is answered with
 * "no responders" by the server itself when nobody subscribes; a subscriber (which
 * never answers a probe) lets it time out.
 */
async function subscribed(subject: string): Promise<boolean> {
  admin ??= await adminConnection();
  try {
    await admin.request(subject, new Uint8Array(0), { timeout: 300 });
    return true;
  } catch (error) {
    if (error instanceof errors.RequestError && error.isNoResponders()) return false;
    if (error instanceof errors.TimeoutError) return true;
    throw error;
  }
}

runReplyChannelSuite({
  name: `NATS at ${new URL(NATS_URL).host}`,
  probe: probeNats,
  createTransport: () => new NatsTransport({ url: NATS_URL, prefix }),
  exists: subscribed,
  endsWithConnection: true,
});
