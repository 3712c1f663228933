import { defineQuery } from '@switchyard/core';
import type { ReplyChannels, Subscription, Transport } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../../broker-gate.js';
import type { Scenario } from '../harness.js';
import { serviceGroup, within } from './service-group.js';

/**
 * What happens to a request whose reply is still being sent when its
 * replier stops: the reply goes out, the request is acked, and only then is
 * the consumer closed, so the request is neither redelivered nor answered
 * twice. A scenario of its own file so that the request/reply scenario file
 * stays one concern per helper.
 */

/** `real` with its reply sends held until `release` resolves, and its consumers' closes recorded in `events`. */
function heldReplies(real: Transport, replies: ReplyChannels, release: Promise<void>, events: string[]): Transport {
  const closing = (subscription: Subscription): Subscription => ({
    close: (options) => {
      events.push('consumer closing');
      return subscription.close(options);
    },
  });
  return {
    name: real.name,
    capabilities: real.capabilities,
    provision: (topology) => real.provision(topology),
    send: (channel, messages) => real.send(channel, messages),
    publish: (messages) => real.publish(messages),
    consume: async (channel, handler, options) => closing(await real.consume(channel, handler, options)),
    ping: () => real.ping(),
    close: () => real.close(),
    ...(real.channelStats ? { channelStats: real.channelStats.bind(real) } : {}),
    ...(real.watchConnection ? { watchConnection: real.watchConnection.bind(real) } : {}),
    replies: {
      open: (owner, handler, options) => replies.open(owner, handler, options),
      send: async (address, message) => {
        events.push('reply held');
        await release;
        await replies.send(address, message);
        events.push('reply sent');
      },
    },
  };
}

const replyAtStop: Scenario = {
  name: 'request-reply-stop',
  title:
    'request/reply: a replier stopping while a reply is being sent sends it, acks the request, then closes its consumer: no redelivery, one answer',
  skipFor: (transport) =>
    transport.replies === undefined
      ? `transport '${transport.name}' has no reply channels (Transport.replies), so it cannot carry request/reply`
      : undefined,
  async run(t) {
    const s = await serviceGroup(t);
    const prefix = t.name('rrstop');
    const Ask = defineQuery(`${prefix}.ask`, z.object({ n: z.number() }), z.object({ n: z.number() }));
    const real = await t.transport();
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const caller = await s.service(`${prefix}-caller`);
    const replier = await s.service(
      `${prefix}-replier`,
      {},
      heldReplies(real, real.replies as ReplyChannels, released, events),
    );
    let handled = 0;
    replier.handle(
      Ask,
      (query) => {
        handled++;
        return { n: query.n + 1 };
      },
      { distributed: true },
    );
    await within(s, async () => {
      await s.start();
      const answer = caller.distributedBus.request(replier.name, Ask, { n: 41 }, { timeoutMs: t.waitMs });
      await waitFor(() => events.includes('reply held'), 'the replier to start sending its reply', t.waitMs);
      const stopped = replier.stop();
      // Released only after everything stop() does without waiting on I/O: a stop that closed the
      // consumer without waiting for the reply would have done so by now.
      setImmediate(release);
      await stopped;
      expect(events).toEqual(['reply held', 'reply sent', 'consumer closing']);
      await expect(answer).resolves.toEqual({ n: 42 });
      expect(handled).toBe(1);
      if (real.capabilities.channelStats?.includes('depth')) {
        // Nothing went back to the replier's channel: the request was acked before its consumer closed.
        const probe = await t.transport();
        const [stats] = (await probe.channelStats?.([replier.name])) ?? [];
        expect(stats?.depth).toBe(0);
      }
    });
  },
};

/** Request/reply at a replier's stop; in the conformance suite with the other request/reply scenarios. */
export const requestReplyStopScenarios: Scenario[] = [replyAtStop];
