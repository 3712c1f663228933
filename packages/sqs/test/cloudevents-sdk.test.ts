import { CreateTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  GetQueueUrlCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createService, defineCommand } from '@switchyard/core';
import {
  brokerReachable,
  type ForeignEventSpec,
  foreignProducerScenario,
  switchyardOutput,
  waitFor,
} from '@switchyard/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix, TEST_CREDENTIALS } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

/**
 * The foreign party is the official CloudEvents SDK; the AWS SDK only moves
 * the bytes. SQS has no CloudEvents binding: a foreign producer sends
 * structured mode (the body is the event), or binary mode with the
 * attributes as `ce_`/`ce-` message attributes and the data as the body.
 */
describe.runIf(reachable)('CloudEvents SDK as the foreign party on SQS/SNS', () => {
  const client = { endpoint: emulator.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS };
  const sqs = new SQSClient(client);
  const sns = new SNSClient(client);
  const topicName = `ce-${suffix()}`;
  const transports: SqsTransport[] = [];
  const transport = () => {
    const made = new SqsTransport({ ...emulatorConfig(emulator), topicName });
    transports.push(made);
    return made;
  };
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    sqs.destroy();
    sns.destroy();
  });

  const queueUrl = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;

  /** The SDK's event as an SQS message: structured body, or binary attributes named with `prefix`. */
  function sqsMessage(spec: ForeignEventSpec, mode: string) {
    const event = new CloudEvent({ ...spec });
    if (mode === 'structured') return { body: HTTP.structured(event).body as string, attributes: {} };
    const message = HTTP.binary(event);
    const prefix = mode.slice('binary '.length);
    const attributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(message.headers)) {
      const attribute = name.startsWith('ce-') ? prefix + name.slice(3) : name;
      attributes[attribute] = { DataType: 'String', StringValue: String(value) };
    }
    return { body: message.body as string, attributes };
  }

  const sendTo = async (queue: string, spec: ForeignEventSpec, mode: string) => {
    const { body, attributes } = sqsMessage(spec, mode);
    await sqs.send(
      new SendMessageCommand({ QueueUrl: await queueUrl(queue), MessageBody: body, MessageAttributes: attributes }),
    );
  };

  it('SDK-built commands and events reach typed handlers: binary (ce_, ce-) to the queues, structured through SNS by type', async () => {
    await foreignProducerScenario(
      transport,
      {
        modes: ['binary ce_', 'binary ce-', 'structured'],
        // A command: the service's queue.
        sendCommand: (service, spec, mode) => sendTo(service, spec, mode),
        // An event: structured to the SNS topic (filtered on its `type`), or, in binary mode, to each subscriber's queue.
        publishEvent: async (spec, mode, subscribers) => {
          if (mode !== 'structured') {
            for (const subscriber of subscribers) await sendTo(subscriber, spec, mode);
            return;
          }
          // CreateTopic is idempotent: it answers the ARN of the topic the services provisioned.
          const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: topicName }));
          await sns.send(new PublishCommand({ TopicArn, Message: sqsMessage(spec, mode).body }));
        },
      },
      { orders: `orders-${suffix()}`, shipping: `shipping-${suffix()}` },
    );
  });

  it('a batch of SDK-built commands (content-type attribute application/cloudevents-batch+json) is handled event by event', async () => {
    const service = `batch-${suffix()}`;
    const handled: string[] = [];
    const orders = createService({ name: service, transport: transport(), handleSignals: false });
    orders.handle(
      defineCommand('interop.order.place', z.object({ orderId: z.string() })),
      (command, ctx) => void handled.push(`${ctx.headers.id}:${command.orderId}`),
      { distributed: true },
    );
    await orders.start();
    try {
      const event = (id: string, orderId: string) =>
        new CloudEvent({
          id,
          type: 'interop.order.place',
          source: 'urn:foreign:batch',
          targetservice: service,
          data: { orderId },
        });
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: await queueUrl(service),
          MessageBody: JSON.stringify([event('b-1', 'o-1'), event('b-2', 'o-2')]),
          MessageAttributes: {
            'content-type': { DataType: 'String', StringValue: 'application/cloudevents-batch+json' },
          },
        }),
      );
      await waitFor(
        () => handled.length === 2,
        () => `handled [${handled}]`,
      );
      expect(handled.sort()).toEqual(['b-1:o-1', 'b-2:o-2']);
    } finally {
      await orders.stop();
    }
  });

  it("Switchyard's messages are valid CloudEvents 1.0 (structured mode) to the SDK", async () => {
    const foreign = `foreign-${suffix()}`;
    const tap = `tap-${suffix()}`;
    await transport().provision({ channels: [{ name: tap, subscriptions: ['interop.shipment.sent'] }] });
    const sent = await switchyardOutput(transport(), {
      sender: `sender-${suffix()}`,
      foreignService: foreign,
      eventType: 'interop.shipment.sent',
    });
    const read = async (queue: string) => {
      const got = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: await queueUrl(queue), WaitTimeSeconds: 5, MaxNumberOfMessages: 1 }),
      );
      const body = got.Messages?.[0]?.Body;
      if (body === undefined) throw new Error(`nothing on queue '${queue}'`);
      const event = HTTP.toEvent({ headers: { 'content-type': 'application/cloudevents+json' }, body });
      expect((event as CloudEvent<unknown>).validate()).toBe(true);
      return event as CloudEvent<unknown>;
    };
    expect(await read(foreign)).toMatchObject({
      specversion: '1.0',
      type: 'interop.order.place',
      data: sent.command,
      targetservice: foreign,
    });
    expect(await read(tap)).toMatchObject({ specversion: '1.0', type: 'interop.shipment.sent', data: sent.event });
  });
});
