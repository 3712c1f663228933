import { expect } from 'vitest';
import type { Scenario } from '../harness.js';
import { testMessage, testMessages } from '../messages.js';
import { expectSameMessage } from './assertions.js';

/** Watermill's publish/subscribe, batch, many topics, concurrent publishers, large message, ping. */
export const basicScenarios: Scenario[] = [
  {
    name: 'send-consume',
    title: 'send/consume: id, headers, body bytes and key arrive intact',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'basic');
      const keyed = testMessage({
        key: 'customer-42',
        payload: { text: 'héllo ✓', list: [1, 2, 3] },
        headers: { 'ce-testattr': 'a value, with spaces, ünïcödé ✓ and "quotes"' },
      });
      const plain = testMessage({ seq: 2 });
      const empty = testMessage({ payload: null });
      const inbox = await t.collect(transport, channel);
      await transport.send(channel, [keyed, plain, empty]);
      await inbox.waitForIds([keyed.id, plain.id, empty.id], t.waitMs);
      const [first] = inbox.deliveriesOf(keyed.id);
      const [second] = inbox.deliveriesOf(plain.id);
      expectSameMessage(first!.delivery.message, keyed);
      expectSameMessage(second!.delivery.message, plain);
      expectSameMessage(inbox.deliveriesOf(empty.id)[0]!.delivery.message, empty);
      expect(first!.delivery.channel).toBe(channel);
      expect(first!.delivery.deliveryCount).toBe(1);
    },
  },
  {
    name: 'batch-send',
    title: 'batch send: many messages in one call are each delivered once',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'batch');
      await transport.send(channel, []);
      const messages = testMessages(t.count(200));
      const inbox = await t.collect(transport, channel, { concurrency: 8 });
      await transport.send(channel, messages);
      await inbox.waitForIds(
        messages.map((m) => m.id),
        t.waitMs,
      );
      expect(inbox.received.length).toBe(messages.length);
    },
  },
  {
    name: 'topic-isolation',
    title: 'many channels at once: each channel gets only its own messages',
    async run(t) {
      const transport = await t.transport();
      const channels = await Promise.all(Array.from({ length: 5 }, () => t.channel(transport, 'iso')));
      const perChannel = channels.map(() => testMessages(t.count(20)));
      const inboxes = await Promise.all(channels.map((channel) => t.collect(transport, channel, { concurrency: 2 })));
      await Promise.all(channels.map((channel, n) => transport.send(channel, perChannel[n]!)));
      await Promise.all(
        inboxes.map((inbox, n) =>
          inbox.waitForIds(
            perChannel[n]!.map((m) => m.id),
            t.waitMs,
          ),
        ),
      );
      inboxes.forEach((inbox, n) => {
        const own = new Set(perChannel[n]!.map((m) => m.id));
        expect(
          inbox.ids.filter((id) => !own.has(id)),
          `foreign messages in channel ${n}`,
        ).toEqual([]);
      });
    },
  },
  {
    name: 'concurrent-senders',
    title: 'concurrent senders: messages sent from many async tasks at once all arrive',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'senders');
      const tasks = Array.from({ length: 10 }, () => testMessages(t.count(20)));
      const inbox = await t.collect(transport, channel, { concurrency: 8 });
      await Promise.all(
        tasks.map(async (messages) => {
          for (const message of messages) await transport.send(channel, [message]);
        }),
      );
      await inbox.waitForIds(
        tasks.flat().map((m) => m.id),
        t.waitMs,
      );
    },
  },
  {
    name: 'large-message',
    title: 'large message: a body close to min(maxMessageBytes, 200 KB) round-trips intact',
    async run(t) {
      const transport = await t.transport();
      const channel = await t.channel(transport, 'large');
      // Headroom for headers and for a structured-mode envelope around the body.
      const size = Math.min(transport.capabilities.maxMessageBytes, 200 * 1024) - 4096;
      const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
      let blob = '';
      for (let n = 0; blob.length < size - 16; n++) blob += alphabet[(n * 7919 + (n >> 5)) % alphabet.length];
      const message = testMessage({ payload: { blob } });
      const inbox = await t.collect(transport, channel);
      await transport.send(channel, [message]);
      await inbox.waitForIds([message.id], t.waitMs);
      expectSameMessage(inbox.received[0]!.delivery.message, message);
    },
  },
  {
    name: 'unprovisioned-channel',
    title: 'send to a never-provisioned channel, then provision and consume: not lost',
    async run(t) {
      const transport = await t.transport();
      const channel = t.name('late');
      const messages = testMessages(3);
      let accepted = true;
      try {
        await transport.send(channel, messages);
      } catch {
        // The SPI allows rejecting; then nothing was accepted and we send again after provisioning.
        accepted = false;
      }
      await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
      if (!accepted) await transport.send(channel, messages);
      const inbox = await t.collect(transport, channel);
      await inbox.waitForIds(
        messages.map((m) => m.id),
        t.waitMs,
      );
    },
  },
  {
    name: 'ping',
    title: 'ping resolves on a healthy transport',
    async run(t) {
      const transport = await t.transport();
      await expect(transport.ping()).resolves.toBeUndefined();
    },
  },
];
