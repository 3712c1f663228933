import { randomUUID } from 'node:crypto';
import type { Delivery, ReplyChannels, Transport, TransportMessage } from '@switchyard/core/transport';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { brokerReachable, waitFor } from '../broker-gate.js';

/**
 * How a transport package runs {@link runReplyChannelSuite}: the transport-level
 * checks of `Transport.replies` on the real broker. Core-level request/reply
 * (timeouts, remote errors, concurrency) is the conformance suite's.
 */
export interface ReplyChannelSuiteOptions {
  /** Broker name for the describe block and the skip line. */
  readonly name: string;
  /** Rejects when the broker is unreachable (then the suite skips, or fails under SWITCHYARD_REQUIRE_BROKERS=1). */
  probe(): Promise<void>;
  /** A fresh transport on the shared broker, with names of its own (the suite closes it). */
  createTransport(): Transport | Promise<Transport>;
  /**
   * Asks the broker, not the transport, whether the channel at `address`
   * still exists (queue, stream, topic) or still has a subscriber. A probe it
   * sends there must not carry `ce-type: test.reply`; the suite's handlers ignore it.
   */
  exists(address: string): Promise<boolean>;
  /**
   * Where the broker itself removes an abandoned channel (TTL, key expiry):
   * the `expireAfterMs` to open with, and how long to wait for the removal.
   * Omit where cleanup after a crash is the next `open`'s or the connection's job.
   */
  readonly expiry?: { readonly expireAfterMs: number; readonly waitMs: number };
  /** The channel ends with the connection (a subscription, an exclusive queue): an abandoned one is gone at once. */
  readonly endsWithConnection?: boolean;
  /** How long to wait for replies to arrive (default 15 s). */
  readonly waitTimeoutMs?: number;
  /**
   * Per-test timeout (default: the runner's). For brokers whose channel checks
   * are slow by nature, e.g. Kafka, where `exists` is a consumer-group join.
   */
  readonly testTimeoutMs?: number;
}

/**
 * Registers, in one describe block: exact delivery to the opened channel and
 * its removal on close; a send after close that resolves and delivers
 * nothing; broker-side expiry of an abandoned channel, and none of a consumed
 * one (when `expiry` is given); 200 replies to two instances, each getting only its own.
 */
export function runReplyChannelSuite(options: ReplyChannelSuiteOptions): void {
  const waitMs = options.waitTimeoutMs ?? 15_000;
  const timeout = options.testTimeoutMs === undefined ? {} : { timeout: options.testTimeoutMs };
  describe(`reply channels: ${options.name}`, timeout, () => {
    let reachable = false;
    const transports: Transport[] = [];
    beforeAll(async () => {
      reachable = await brokerReachable(options.name, options.probe);
    });
    afterEach(async () => {
      await Promise.allSettled(transports.splice(0).map((transport) => transport.close()));
    });
    const open = async (): Promise<ReplyChannels> => {
      const transport = await options.createTransport();
      transports.push(transport);
      if (transport.replies === undefined) throw new Error(`${options.name} offers no reply channels`);
      return transport.replies;
    };

    it('delivers a reply intact, removes the channel on close, and drops a reply sent after close', async (test) => {
      if (!reachable) test.skip(`${options.name} is unreachable`);
      const replies = await open();
      const received: Delivery[] = [];
      const channel = await replies.open(owner(), collect(received), { expireAfterMs: 60_000 });
      expect(await options.exists(channel.address)).toBe(true);
      const sent = reply({ answer: 42 }, { 'ce-correlationid': 'c-1', 'ce-traceparent': '00-abc-def-01' });
      await replies.send(channel.address, sent);
      await waitFor(() => received.length === 1, 'the reply', waitMs);
      const got = (received[0] as Delivery).message;
      expect(got.id).toBe(sent.id);
      expect(got.headers).toEqual(sent.headers);
      expect(Buffer.from(got.body).equals(Buffer.from(sent.body))).toBe(true);

      await channel.close();
      await channel.close();
      expect(await options.exists(channel.address)).toBe(false);
      await expect(replies.send(channel.address, reply({ late: true }))).resolves.toBeUndefined();
      // Nothing arrives: the send did not bring the channel back, and the handler saw only the first reply.
      expect(await options.exists(channel.address)).toBe(false);
      expect(received).toHaveLength(1);
    });

    it('leaves an abandoned channel (transport closed, channel not) to the broker to remove: by expiry or with the connection', async (test) => {
      if (!reachable) test.skip(`${options.name} is unreachable`);
      const expiry =
        options.expiry ?? (options.endsWithConnection ? { expireAfterMs: 60_000, waitMs: 5_000 } : undefined);
      if (expiry === undefined) test.skip(`${options.name} does not remove abandoned channels itself`);
      const { expireAfterMs, waitMs: expiryWaitMs } = expiry as NonNullable<typeof expiry>;
      const transport = await options.createTransport();
      const channel = await (transport.replies as ReplyChannels).open(owner(), collect([]), { expireAfterMs });
      await transport.replies?.send(channel.address, reply({ unread: true }));
      expect(await options.exists(channel.address)).toBe(true);
      // The process "crashes": its transport goes away without closing the channel.
      await transport.close();
      await waitFor(
        async () => !(await options.exists(channel.address)),
        'the broker to expire the channel',
        expiryWaitMs,
        20,
      );
    });

    it('keeps a channel that is being consumed alive beyond expireAfterMs', async (test) => {
      if (!reachable) test.skip(`${options.name} is unreachable`);
      const expiry = options.expiry;
      if (expiry === undefined) test.skip(`${options.name} does not expire channels itself`);
      const { expireAfterMs } = expiry as NonNullable<typeof expiry>;
      const replies = await open();
      const received: Delivery[] = [];
      const channel = await replies.open(owner(), collect(received), { expireAfterMs });
      // Time has to pass here, not a message: three expiry periods in which only the consumer touches the channel.
      await new Promise((resolve) => setTimeout(resolve, 3 * expireAfterMs));
      expect(await options.exists(channel.address)).toBe(true);
      await replies.send(channel.address, reply({ still: 'here' }));
      await waitFor(() => received.length === 1, 'the reply to a long-lived channel', waitMs);
      await channel.close();
    });

    it('gives each of two instances only its own replies, 200 in all', async (test) => {
      if (!reachable) test.skip(`${options.name} is unreachable`);
      const [a, b] = [await open(), await open()];
      const gotA: Delivery[] = [];
      const gotB: Delivery[] = [];
      const channelA = await a.open(owner(), collect(gotA), { expireAfterMs: 60_000 });
      const channelB = await b.open(owner(), collect(gotB), { expireAfterMs: 60_000 });
      expect(channelA.address).not.toBe(channelB.address);
      const sends: Promise<void>[] = [];
      for (let n = 0; n < 200; n++) {
        const to = n % 2 === 0 ? channelA.address : channelB.address;
        // Each instance also replies to the other one's requests: the sender does not matter.
        sends.push((n % 3 === 0 ? a : b).send(to, reply({ n }, { 'ce-for': to })));
      }
      await Promise.all(sends);
      await waitFor(
        () => gotA.length + gotB.length >= 200,
        () => `200 replies, got ${gotA.length + gotB.length}`,
        waitMs,
      );
      expect(gotA).toHaveLength(100);
      expect(gotB).toHaveLength(100);
      expect(gotA.every((d) => d.message.headers['ce-for'] === channelA.address)).toBe(true);
      expect(gotB.every((d) => d.message.headers['ce-for'] === channelB.address)).toBe(true);
      expect(new Set(gotA.map((d) => d.message.id)).size).toBe(100);
      await Promise.all([channelA.close(), channelB.close()]);
    }, 60_000);
  });
}

const REPLY_TYPE = 'test.reply';

function owner(): string {
  return `sy-test-${randomUUID()}`;
}

function reply(payload: unknown, headers: Record<string, string> = {}): TransportMessage {
  const id = randomUUID();
  return {
    id,
    headers: { 'ce-id': id, 'ce-type': REPLY_TYPE, 'content-type': 'application/json', ...headers },
    body: new TextEncoder().encode(JSON.stringify(payload)),
  };
}

/** Records the suite's replies; anything else (a probe that `exists` sent) is acked and not counted. */
function collect(into: Delivery[]) {
  return async (delivery: Delivery): Promise<void> => {
    if (delivery.message.headers['ce-type'] === REPLY_TYPE) into.push(delivery);
    await delivery.ack();
  };
}
