import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createService, ErrorCode, MessagePublisher } from '@switchyard/core';
import { brokerReachable, messageConsumerScenario, messagePublisherScenario, type RawRead } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix, TEST_CREDENTIALS } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

describe.runIf(reachable)('message consumer of a foreign queue through the service pipeline (consumeEndpoint)', () => {
  const sqs = new SQSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  const transports: SqsTransport[] = [];
  const transport = () => {
    const made = new SqsTransport({ ...emulatorConfig(emulator), fanout: 'direct' });
    transports.push(made);
    return made;
  };
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    sqs.destroy();
  });

  it('retries a failing handler with delayed retries and dead-letters a poison message in the service store', async () => {
    // Queues another system owns and writes plain JSON to; one named by URL, one by name.
    const endpoint = (await sqs.send(new CreateQueueCommand({ QueueName: `legacy-orders-${suffix()}` }))).QueueUrl!;
    const convertName = `legacy-refs-${suffix()}`;
    const convertUrl = (await sqs.send(new CreateQueueCommand({ QueueName: convertName }))).QueueUrl!;
    const produce = (url: string) => async (payload: unknown) => {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(payload) }));
    };
    await messageConsumerScenario({
      transport,
      service: `consumer-${suffix()}`,
      endpoint,
      produce: produce(endpoint),
      convertEndpoint: { endpoint: convertName, produce: produce(convertUrl) },
    });
  });

  it('reads a plain JSON body that has an `id` key as data, not as a CloudEvent', async () => {
    const name = `legacy-ids-${suffix()}`;
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
    const seen: unknown[] = [];
    const service = createService({ name: `ids-${suffix()}`, transport: transport(), handleSignals: false });
    service.consumeEndpoint({ endpoint: name }, (payload) => void seen.push(payload));
    await service.start();
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: '{"id":"row-7","qty":2}' }));
      await expect.poll(() => seen, { timeout: 10_000 }).toEqual([{ id: 'row-7', qty: 2 }]);
    } finally {
      await service.stop();
    }
  });

  it('a message publisher sends raw messages to a foreign queue: the body as text, headers as attributes', async () => {
    const name = `legacy-out-${suffix()}`;
    const url = (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl!;
    await messagePublisherScenario(
      transport(),
      name,
      async (count) => {
        const read: RawRead[] = [];
        while (read.length < count) {
          const got = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: url,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 2,
              MessageAttributeNames: ['All'],
            }),
          );
          if (!got.Messages?.length) break;
          for (const message of got.Messages) {
            const headers: Record<string, string> = {};
            for (const [key, value] of Object.entries(message.MessageAttributes ?? {})) {
              headers[key] = value.StringValue ?? '';
            }
            read.push({ body: message.Body ?? '', headers });
          }
        }
        return read;
      },
      { key: false, routingKey: false },
    );
    await expect(
      new MessagePublisher(transport()).publish(`no-such-queue-${suffix()}`, { payload: 1 }),
    ).rejects.toMatchObject({ code: ErrorCode.Configuration });
  });

  it('start rejects with SY_CONFIGURATION when the endpoint queue does not exist', async () => {
    const service = createService({ name: `missing-${suffix()}`, transport: transport(), handleSignals: false });
    service.consumeEndpoint({ endpoint: `no-such-queue-${suffix()}` }, () => undefined);
    await expect(service.start()).rejects.toMatchObject({ code: ErrorCode.Configuration });
  });
});
