import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  SetSubscriptionAttributesCommand,
  type Subscription as SnsSubscription,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { ErrorCode, type Topology } from '@switchyard/core/transport';
import type { AwsClients } from './clients.js';
import { wrapError } from './errors.js';
import { filterPolicy } from './filter-policy.js';
import { topicName } from './names.js';
import type { ResolvedSqsOptions } from './options.js';
import type { QueueDirectory } from './queue-directory.js';
import { ROUTING_FIELD } from './wire.js';

/**
 * Declares the physical topology: a queue per channel (with its native
 * dead-letter queue when `redrive` is set) and, in SNS mode, the topic, a
 * queue policy that lets the topic send, and one subscription per channel
 * queue with raw message delivery and a filter policy on `sy-routing-key`
 * that stands for the channel's patterns. Idempotent: re-running it updates
 * filter policies in place and removes the subscription of a channel that
 * lost all its patterns. Several processes may provision at once; the last
 * writer's filter policy wins, which is the same topology when they agree.
 */
export class Provisioner {
  readonly #clients: AwsClients;
  readonly #queues: QueueDirectory;
  readonly #options: ResolvedSqsOptions;
  #topicArn: Promise<string> | undefined;

  constructor(clients: AwsClients, queues: QueueDirectory, options: ResolvedSqsOptions) {
    this.#clients = clients;
    this.#queues = queues;
    this.#options = options;
  }

  /** The topic's ARN, creating the topic on first use (CreateTopic is idempotent). */
  topicArn(): Promise<string> {
    if (this.#topicArn === undefined) {
      const name = topicName(this.#options.topicName, this.#options.fifo);
      const attributes: Record<string, string> = this.#options.fifo ? { FifoTopic: 'true' } : {};
      this.#topicArn = this.#clients.sns
        .send(new CreateTopicCommand({ Name: name, Attributes: attributes }))
        .then((out) => {
          if (out.TopicArn === undefined) throw new Error('CreateTopic returned no TopicArn');
          return out.TopicArn;
        });
      this.#topicArn.catch(() => {
        this.#topicArn = undefined;
      });
    }
    return this.#topicArn;
  }

  /** Declare `topology`. Rejects with a TransportError when any step failed; re-running it is safe. */
  async provision(topology: Topology): Promise<void> {
    const sns = this.#options.fanout === 'sns';
    try {
      const topicArn = sns ? await this.topicArn() : undefined;
      const queues = await Promise.all(
        topology.channels.map(async (channel) => {
          const attributes = this.#queues.baseAttributes();
          if (this.#options.redrive) attributes.RedrivePolicy = await this.#redrivePolicy(channel.name);
          if (topicArn !== undefined) attributes.Policy = topicSendPolicy(topicArn);
          const ref = await this.#queues.declare(channel.name, attributes);
          return { channel, arn: await this.#queues.arnOf(ref.url) };
        }),
      );
      if (topicArn === undefined) return;
      const existing = await this.#subscriptions(topicArn);
      await Promise.all(
        queues.map(({ channel, arn }) =>
          this.#subscribe(topicArn, arn, existing.get(arn) ?? [], filterPolicy(ROUTING_FIELD, channel.subscriptions)),
        ),
      );
    } catch (error) {
      throw wrapError(ErrorCode.TransportUnavailable, 'provision the topology', error);
    }
  }

  async #redrivePolicy(channel: string): Promise<string> {
    const redrive = this.#options.redrive!;
    const dlq = await this.#queues.declare(redrive.queueName ?? `${channel}-dlq`, this.#queues.baseAttributes());
    return JSON.stringify({
      deadLetterTargetArn: await this.#queues.arnOf(dlq.url),
      maxReceiveCount: String(redrive.maxReceiveCount),
    });
  }

  /** Subscriptions of the topic, by endpoint (queue ARN). */
  async #subscriptions(topicArn: string): Promise<Map<string, SnsSubscription[]>> {
    const byEndpoint = new Map<string, SnsSubscription[]>();
    let token: string | undefined;
    do {
      const out = await this.#clients.sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: token }),
      );
      for (const sub of out.Subscriptions ?? []) {
        if (sub.Protocol !== 'sqs' || sub.Endpoint === undefined) continue;
        const list = byEndpoint.get(sub.Endpoint) ?? [];
        list.push(sub);
        byEndpoint.set(sub.Endpoint, list);
      }
      token = out.NextToken;
    } while (token);
    return byEndpoint;
  }

  async #subscribe(
    topicArn: string,
    queueArn: string,
    existing: SnsSubscription[],
    policy: string | undefined,
  ): Promise<void> {
    const sns = this.#clients.sns;
    const arns = existing.map((s) => s.SubscriptionArn).filter((a): a is string => a?.startsWith('arn:') === true);
    if (policy === undefined) {
      await Promise.all(arns.map((arn) => sns.send(new UnsubscribeCommand({ SubscriptionArn: arn }))));
      return;
    }
    const [keep, ...extra] = arns;
    await Promise.all(extra.map((arn) => sns.send(new UnsubscribeCommand({ SubscriptionArn: arn }))));
    if (keep === undefined) {
      await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'sqs',
          Endpoint: queueArn,
          Attributes: { RawMessageDelivery: 'true', FilterPolicyScope: 'MessageBody', FilterPolicy: policy },
          ReturnSubscriptionArn: true,
        }),
      );
      return;
    }
    for (const [name, value] of [
      ['RawMessageDelivery', 'true'],
      ['FilterPolicyScope', 'MessageBody'],
      ['FilterPolicy', policy],
    ] as const) {
      await sns.send(
        new SetSubscriptionAttributesCommand({ SubscriptionArn: keep, AttributeName: name, AttributeValue: value }),
      );
    }
  }
}

/** Queue policy letting the topic deliver to the queue (SNS needs it on real AWS). */
function topicSendPolicy(topicArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'switchyard-sns-send',
        Effect: 'Allow',
        Principal: { Service: 'sns.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: '*',
        Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
      },
    ],
  });
}
