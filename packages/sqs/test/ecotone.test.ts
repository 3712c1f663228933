import {
  GetQueueUrlCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  brokerReachable,
  type EcotoneRead,
  type EcotoneVector,
  ecotoneReceiveScenario,
  ecotoneSendScenario,
  wireVector,
} from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsTransport, SubscriptionRegistry } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix, TEST_CREDENTIALS } from './emulator.js';

const emulator = await startEmulator();
afterAll(() => emulator.stop());
const reachable = await brokerReachable('fauxqs (SQS emulator)', () =>
  new SqsTransport(emulatorConfig(emulator)).ping(),
);

/** An Ecotone SQS message (docs/wire-format.md): the `Headers` attribute's JSON text and the body. */
interface SqsVector extends EcotoneVector {
  readonly attributes: { readonly Headers: string };
}

/**
 * Ecotone's SQS channel (Enqueue) writes the payload as the body and every
 * header in the JSON attribute `Headers`; its Service Map distributed bus
 * sends a command to the target's queue and an event to each subscriber's
 * queue. The foreign party here is the AWS SDK writing the vectors' bytes.
 */
describe.runIf(reachable)('Ecotone distributed bus on SQS', () => {
  const sqs = new SQSClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: TEST_CREDENTIALS });
  const transports: SqsTransport[] = [];
  const transport = (queuePrefix: string, registry?: SubscriptionRegistry) => () => {
    const made = new SqsTransport({
      ...emulatorConfig(emulator),
      queuePrefix,
      fanout: 'direct',
      ...(registry === undefined ? {} : { registry }),
    });
    transports.push(made);
    return made;
  };
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    sqs.destroy();
  });
  const queueUrl = async (name: string) => (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl;

  it("Ecotone's golden command and event reach typed Switchyard handlers", async () => {
    const prefix = `eco-${suffix()}-`;
    const listener = `listener-${suffix()}`;
    const vectors = {
      command: wireVector<SqsVector>('ecotone-sqs-command'),
      event: wireVector<SqsVector>('ecotone-sqs-event'),
    };
    const registry = new SubscriptionRegistry();
    await ecotoneReceiveScenario({
      transport: transport(prefix, registry),
      listener,
      vectors,
      produce: async (which) => {
        const v = vectors[which];
        const attributes: Record<string, MessageAttributeValue> = {
          Headers: { DataType: 'String', StringValue: v.attributes.Headers },
        };
        const queue = which === 'command' ? `${prefix}order-service` : `${prefix}${listener}`;
        await sqs.send(
          new SendMessageCommand({
            QueueUrl: await queueUrl(queue),
            MessageBody: v.body,
            MessageAttributes: attributes,
          }),
        );
      },
    });
  }, 30_000);

  it('a Switchyard command and event to an Ecotone service map entry carry the headers Ecotone reads', async () => {
    const prefix = `eco-${suffix()}-`;
    const ecotoneService = `php-billing-${suffix()}`;
    // Direct fan-out: the Ecotone service's queue is a subscriber of billing.* in the shared registry.
    const registry = new SubscriptionRegistry();
    registry.set(ecotoneService, ['billing.*']);
    const read: EcotoneRead[] = [];
    await ecotoneSendScenario({
      transport: transport(prefix, registry),
      sender: `node-orders-${suffix()}`,
      ecotoneService,
      read: async (what) => {
        const kind = what === 'command' ? 'command' : 'event';
        const url = await queueUrl(`${prefix}${ecotoneService}`);
        const find = () => read.find((r) => r.headers['ecotone.distributed.payloadType'] === kind);
        while (find() === undefined) {
          // Long poll (the broker answers as soon as a message is there); what Enqueue's SqsConsumer asks for.
          const got = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: url,
              MessageAttributeNames: ['All'],
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 5,
            }),
          );
          if ((got.Messages ?? []).length === 0) break;
          for (const message of got.Messages ?? []) {
            const text = message.MessageAttributes?.Headers?.StringValue ?? '[[],{}]';
            const [enqueueHeaders, properties] = JSON.parse(text) as [unknown, Record<string, unknown>];
            expect(enqueueHeaders).toEqual({});
            expect(typeof properties.timestamp).toBe('number');
            const headers = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, String(v)]));
            read.push({ headers, body: message.Body ?? '' });
          }
        }
        const found = find();
        if (found === undefined) throw new Error(`no ${what} on the Ecotone queue`);
        return found;
      },
    });
  }, 30_000);

  it("refuses wire 'ecotone' with SNS fan-out at construction", () => {
    expect(() => new SqsTransport({ ...emulatorConfig(emulator), wire: 'ecotone' })).toThrow(/fanout: 'direct'/);
  });
});
