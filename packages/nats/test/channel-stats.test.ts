import { randomBytes } from 'node:crypto';
import { brokerReachable, channelStatsScenario } from '@switchyard/testing';
import { afterAll, describe, it } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { deleteStreams, NATS_URL, probeNats, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix('stats');
const reachable = await brokerReachable(`NATS at ${NATS_URL}`, probeNats);

afterAll(async () => {
  if (reachable) await deleteStreams(prefix);
});

describe.runIf(reachable)('nats channel stats', () => {
  it("reports depth and in-flight of a channel from its durable consumer's info", async () => {
    const transport = new NatsTransport({ url: NATS_URL, prefix, ackWaitMs: 5_000 });
    try {
      await channelStatsScenario(transport, `stats-${randomBytes(3).toString('hex')}`);
    } finally {
      await transport.close();
    }
  });
});
