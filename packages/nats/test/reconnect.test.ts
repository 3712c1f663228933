import { randomBytes } from 'node:crypto';
import { type ConsumerInfo, jetstreamManager } from '@nats-io/jetstream';
import { brokerReachable, TcpProxy, testMessage, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { adminConnection, deleteStreams, NATS_ADDRESS, NATS_URL, probeNats, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`NATS at ${NATS_URL}`, probeNats);
const prefix = uniquePrefix('reconnect');

afterAll(async () => {
  if (reachable) await deleteStreams(prefix);
});

const TOTAL = 10_000;
const BATCH = 100;

describe.runIf(reachable)('nats reconnect', () => {
  it("the client's connections killed twice during 10,000 messages: every message arrives (lost 0)", async () => {
    const proxy = await TcpProxy.start(NATS_ADDRESS);
    const channel = `rc-${randomBytes(4).toString('hex')}`;
    const events: string[] = [];
    const options = {
      url: `nats://${proxy.address}`,
      prefix,
      ackWaitMs: 2_000,
      pullExpiresMs: 2_000,
      onConnectionEvent: (event: { type: string }) => void events.push(event.type),
    };
    const sender = new NatsTransport(options);
    const receiver = new NatsTransport(options);
    const states: string[] = [];
    receiver.watchConnection((state) => states.push(state.status));
    const seen = new Map<string, number>();
    let duplicates = 0;
    const kills: number[] = [];
    let rejectedSends = 0;
    try {
      await sender.provision({ channels: [{ name: channel, subscriptions: [] }] });
      const subscription = await receiver.consume(
        channel,
        async (d) => {
          const n = seen.get(d.message.id) ?? 0;
          if (n > 0) duplicates++;
          seen.set(d.message.id, n + 1);
          await d.ack();
        },
        { concurrency: 32, prefetch: 200 },
      );
      for (let b = 0; b < TOTAL / BATCH; b++) {
        // Cut every connection through the proxy (sender's and receiver's) while sends, pulls and acks are in flight.
        if (b === 25 || b === 65) {
          kills.push(proxy.open);
          proxy.cut();
        }
        const batch = Array.from({ length: BATCH }, (_, i) => testMessage({ seq: b * BATCH + i }));
        for (;;) {
          try {
            await sender.send(channel, batch);
            break;
          } catch {
            // The contract allows a rejected send during an outage (never a silent drop); resend as core would.
            rejectedSends++;
          }
        }
      }
      await waitFor(
        () => seen.size === TOTAL,
        () => `${TOTAL} distinct messages (have ${seen.size})`,
        60_000,
      );
      // Redeliveries of messages whose ack died with a connection may still be on their way: the
      // consumer keeps running until the server holds nothing more for it.
      const nc = await adminConnection();
      let info: ConsumerInfo;
      try {
        const jsm = await jetstreamManager(nc);
        info = await jsm.consumers.info(prefix, `c_${channel}`);
        for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
          if (info.num_ack_pending === 0 && info.num_pending === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 200));
          info = await jsm.consumers.info(prefix, `c_${channel}`);
        }
      } finally {
        await nc.close();
      }
      await subscription.close();
      console.log(
        `[nats reconnect] distinct=${seen.size} lost=${TOTAL - seen.size} duplicates=${duplicates} killed-connections=${kills.join('+')} rejected-sends=${rejectedSends}`,
      );
      expect(kills).toEqual([2, 2]);
      // Both transports told their listener about each cut and each reconnect.
      expect(events.filter((type) => type === 'disconnect').length).toBeGreaterThanOrEqual(4);
      expect(events.filter((type) => type === 'reconnect').length).toBeGreaterThanOrEqual(4);
      // watchConnection (core's health view) saw the receiver go down and come back, twice.
      expect(states.filter((status) => status === 'disconnected').length).toBeGreaterThanOrEqual(2);
      expect(states.filter((status) => status === 'connected').length).toBeGreaterThanOrEqual(3);
      expect(seen.size).toBe(TOTAL);
      // Sends are retried with their Nats-Msg-Id, so a send never stores a message twice; the only
      // duplicates are redeliveries of messages whose fire-and-forget ack died with the connection.
      expect(info.num_ack_pending, 'unacknowledged at the end').toBe(0);
      expect(info.num_pending, 'left in the stream').toBe(0);
    } finally {
      await Promise.all([sender.close(), receiver.close()]);
      await proxy.close();
    }
  }, 120_000);
});
