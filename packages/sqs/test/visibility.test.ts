import type { Delivery } from '@switchyard/core/transport';
import { brokerReachable, collect, testMessage } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

describe.runIf(reachable)('sqs: visibility timeout', () => {
  it('a handler running for 3 visibility timeouts keeps its message: the heartbeat extends it', async () => {
    // 1 s visibility: without a heartbeat the message would be redelivered to the other consumer after 1 s.
    const config = { ...emulatorConfig(emulator), visibilityTimeoutSeconds: 1 };
    const slow = new SqsTransport(config);
    const watcher = new SqsTransport(config);
    try {
      const channel = `vis-${suffix()}`;
      await slow.provision({ channels: [{ name: channel, subscriptions: [] }] });
      let finished!: (delivery: Delivery) => void;
      const done = new Promise<Delivery>((resolve) => {
        finished = resolve;
      });
      // prefetch 1: the slow consumer fetches nothing more while busy, so only the watcher could see a redelivery.
      const subscription = await slow.consume(
        channel,
        async (delivery) => {
          // Deliberately slow work, the point of the test: longer than three visibility timeouts.
          await new Promise((resolve) => setTimeout(resolve, 3_500));
          await delivery.ack();
          finished(delivery);
        },
        { concurrency: 1, prefetch: 1 },
      );
      const other = await collect(watcher, channel);
      const message = testMessage();
      await slow.send(channel, [message]);
      const delivery = await done;
      expect(delivery.message.id).toBe(message.id);
      expect(delivery.deliveryCount).toBe(1);
      expect(other.countOf(message.id), 'redelivered to another consumer while the handler ran').toBe(0);
      await Promise.all([subscription.close(), other.close()]);
    } finally {
      await Promise.all([slow.close(), watcher.close()]);
    }
  });

  it('close returns an unsettled message at once, not after the visibility timeout', async () => {
    const config = { ...emulatorConfig(emulator), visibilityTimeoutSeconds: 20 };
    const holder = new SqsTransport(config);
    const next = new SqsTransport(config);
    try {
      const channel = `hold-${suffix()}`;
      await holder.provision({ channels: [{ name: channel, subscriptions: [] }] });
      const held = await collect(holder, channel, { settle: 'none' });
      const message = testMessage();
      await holder.send(channel, [message]);
      await held.waitForIds([message.id]);
      const closedAt = Date.now();
      // close() makes the unsettled message visible again (visibility 0), not after the timeout.
      await held.close();
      const inbox = await collect(next, channel);
      await inbox.waitForIds([message.id]);
      const again = inbox.deliveriesOf(message.id)[0]!;
      expect(again.delivery.deliveryCount).toBe(2);
      expect(again.receivedAt - closedAt).toBeLessThan(5_000);
      await inbox.close();
    } finally {
      await Promise.all([holder.close(), next.close()]);
    }
  });
});
