import { brokerReachable, collect, testEvent, testMessage } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

/**
 * Delays longer than SQS's 15-minute DelaySeconds travel as a chain of
 * re-sends. At small scale: the longest single hop is cut to 1 s, so a 3.5 s
 * delay takes four hops; without the chain the message would arrive after 1 s.
 */
describe.runIf(reachable)('sqs: delays beyond one DelaySeconds hop', () => {
  it('a message due after several hops arrives no sooner than due, and once', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), maxNativeDelaySeconds: 1 });
    try {
      const channel = `delay-${suffix()}`;
      await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
      const inbox = await collect(transport, channel);
      const due = Date.now() + 3_500;
      const later = testMessage({ deliverAt: due });
      const now = testMessage();
      await transport.send(channel, [later, now]);
      await inbox.waitForIds([now.id, later.id]);
      const arrived = inbox.deliveriesOf(later.id)[0]!;
      expect(arrived.receivedAt).toBeGreaterThanOrEqual(due);
      expect(arrived.receivedAt - due, 'arrived within a hop of due').toBeLessThan(2_500);
      expect(arrived.delivery.message.deliverAt).toBe(due);
      expect(inbox.deliveriesOf(now.id)[0]!.receivedAt).toBeLessThan(due);
      expect(inbox.countOf(later.id)).toBe(1);
      await inbox.close();
    } finally {
      await transport.close();
    }
  });

  it('an event published through SNS with a delay (SNS has no DelaySeconds) is held by the chain', async () => {
    const transport = new SqsTransport({ ...emulatorConfig(emulator), topicName: `delay-${suffix()}` });
    try {
      const channel = `sns-delay-${suffix()}`;
      await transport.provision({ channels: [{ name: channel, subscriptions: ['reminder.*'] }] });
      const inbox = await collect(transport, channel);
      const due = Date.now() + 2_000;
      const event = testEvent('reminder.sent', { deliverAt: due });
      await transport.publish([event]);
      await inbox.waitForIds([event.id]);
      expect(inbox.deliveriesOf(event.id)[0]!.receivedAt).toBeGreaterThanOrEqual(due);
      await inbox.close();
    } finally {
      await transport.close();
    }
  });
});
