import type { Delivery } from '@switchyard/core/transport';
import { testEvent, waitFor } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { unique } from './cluster.js';
import { kafkaFixture } from './helpers.js';

const kafka = await kafkaFixture();

// The conformance scenario `channel-stats` covers a channel's own topic; this covers the events topic.
describe.runIf(kafka.reachable)('kafka: channel lag of a subscribing channel', () => {
  it("counts the events topic behind the channel's events group until its events are handled", async () => {
    const transport = kafka.transport();
    const channel = unique('stats-events');
    const topic = unique('ev');
    await transport.provision({ channels: [{ name: channel, subscriptions: [`${topic}.*`] }] });
    const lag = async () => (await transport.channelStats([channel]))[0]?.lag;
    const before = await lag();
    await transport.publish([testEvent(`${topic}.a`), testEvent(`${topic}.b`)]);
    // The events topic is shared: other tests' events count too, so compare with the lag before.
    await expect.poll(lag, { timeout: 10_000 }).toBe((before ?? 0) + 2);
    const handled: Delivery[] = [];
    const subscription = await transport.consume(channel, async (delivery) => {
      handled.push(delivery);
      await delivery.ack();
    });
    try {
      await waitFor(() => handled.length === 2, 'both events handled', 20_000);
      await expect.poll(lag, { timeout: 20_000 }).toBe(0);
    } finally {
      await subscription.close();
    }
  });
});
