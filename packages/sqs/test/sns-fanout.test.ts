import {
  GetSubscriptionAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { matchesPattern } from '@switchyard/core/transport';
import { brokerReachable, collect, testEvent } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix, TEST_CREDENTIALS } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

describe.runIf(reachable)('sqs: SNS fan-out to two services', () => {
  const sns = new SNSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  afterAll(() => sns.destroy());

  it('each service queue gets what its filter policy lets through; exact patterns exactly, `*` as a prefix superset', async () => {
    const topicName = `fan-${suffix()}`;
    const config = { ...emulatorConfig(emulator), topicName };
    // Three processes: two subscribing services and a publisher that provisions nothing.
    const billing = new SqsTransport(config);
    const shipping = new SqsTransport(config);
    const publisher = new SqsTransport(config);
    try {
      const billingChannel = `billing-${suffix()}`;
      const shippingChannel = `shipping-${suffix()}`;
      const billingPatterns = ['order.*'];
      const shippingPatterns = ['order.placed', 'payment.#'];
      await billing.provision({ channels: [{ name: billingChannel, subscriptions: billingPatterns }] });
      await shipping.provision({ channels: [{ name: shippingChannel, subscriptions: shippingPatterns }] });
      const billingInbox = await collect(billing, billingChannel);
      const shippingInbox = await collect(shipping, shippingChannel);

      const keys = ['order.placed', 'order.cancelled', 'order.item.added', 'payment', 'payment.done', 'shipping.sent'];
      const events = keys.map((key) => testEvent(key));
      await publisher.publish(events);
      const barrier = testEvent('order.placed');
      await publisher.publish([barrier]);
      await billingInbox.waitForIds([barrier.id]);
      await shippingInbox.waitForIds([barrier.id]);

      const keysOf = (inbox: typeof billingInbox) =>
        inbox.received
          .filter((r) => r.delivery.message.id !== barrier.id)
          .map((r) => r.delivery.message.headers['ce-type']);
      // SNS filters `order.*` by the prefix `order.`: `order.item.added` gets through, and core drops it.
      expect(keysOf(billingInbox).sort()).toEqual(['order.cancelled', 'order.item.added', 'order.placed']);
      const kept = keysOf(billingInbox).filter((key) => billingPatterns.some((p) => matchesPattern(p, key ?? '')));
      expect(kept.sort()).toEqual(['order.cancelled', 'order.placed']);
      // `order.placed` and `payment.#` map exactly (`payment.#` includes `payment` itself).
      expect(keysOf(shippingInbox).sort()).toEqual(['order.placed', 'payment', 'payment.done']);
      expect(billing.capabilities.patternFiltering).toBe('client');

      // One subscription per queue, raw delivery, the routing-key filter policy.
      const topics = await sns.send(new ListTopicsCommand({}));
      const topicArn = topics.Topics?.map((t) => t.TopicArn).find((arn) => arn?.endsWith(`:${topicName}`));
      const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
      expect(subs.Subscriptions).toHaveLength(2);
      for (const sub of subs.Subscriptions ?? []) {
        const { Attributes } = await sns.send(
          new GetSubscriptionAttributesCommand({ SubscriptionArn: sub.SubscriptionArn }),
        );
        expect(Attributes?.RawMessageDelivery).toBe('true');
        const policy = JSON.parse(Attributes?.FilterPolicy ?? '{}');
        // Routed on the CloudEvents `type` of the structured body: a foreign producer needs no internal attribute.
        expect(Attributes?.FilterPolicyScope).toBe('MessageBody');
        expect(Object.keys(policy)).toEqual(['type']);
      }
      await Promise.all([billingInbox.close(), shippingInbox.close()]);
    } finally {
      await Promise.all([billing.close(), shipping.close(), publisher.close()]);
    }
  });

  it('a channel that drops all its patterns is unsubscribed', async () => {
    const topicName = `unsub-${suffix()}`;
    const transport = new SqsTransport({ ...emulatorConfig(emulator), topicName });
    try {
      const channel = `gone-${suffix()}`;
      await transport.provision({ channels: [{ name: channel, subscriptions: ['a.b'] }] });
      await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
      const topics = await sns.send(new ListTopicsCommand({}));
      const topicArn = topics.Topics?.map((t) => t.TopicArn).find((arn) => arn?.endsWith(`:${topicName}`));
      const subs = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
      expect(subs.Subscriptions ?? []).toHaveLength(0);
    } finally {
      await transport.close();
    }
  });
});
