import { messageConsumerScenario, messagePublisherScenario, type RawRead, waitFor } from '@switchyard/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, it } from 'vitest';
import { FAST_GROUPS, unique } from './cluster.js';
import { kafkaFixture } from './helpers.js';

const fixture = await kafkaFixture();

describe.runIf(fixture.reachable)(
  'message consumer of a foreign topic through the service pipeline (consumeEndpoint)',
  () => {
    const closers: Array<() => Promise<void>> = [];
    afterAll(async () => {
      for (const close of closers) await close();
    });

    it('retries a failing handler with delayed retries and dead-letters a poison message in the service store', async () => {
      const kafka = new Kafka({
        brokers: [...fixture.cluster().brokers],
        clientId: unique('legacy'),
        logLevel: logLevel.NOTHING,
      });
      const producer = kafka.producer({ allowAutoTopicCreation: true });
      await producer.connect();
      closers.push(() => producer.disconnect());
      // Topics another system owns and writes plain JSON to, with no header at all.
      const endpoint = unique('legacy-orders');
      const convertEndpoint = unique('legacy-refs');
      const produce = (topic: string) => async (payload: unknown) => {
        await producer.send({ topic, acks: -1, messages: [{ value: JSON.stringify(payload) }] });
      };
      await messageConsumerScenario({
        transport: () => fixture.transport(),
        service: unique('consumer'),
        endpoint,
        produce: produce(endpoint),
        convertEndpoint: { endpoint: convertEndpoint, produce: produce(convertEndpoint) },
      });
    }, 60_000);

    it('a message publisher appends raw records to a foreign topic: headers, key and value as given, acks=all', async () => {
      const topic = unique('legacy-out');
      await messagePublisherScenario(
        fixture.transport(),
        topic,
        async (count) => {
          const kafka = new Kafka({
            brokers: [...fixture.cluster().brokers],
            clientId: unique('reader'),
            logLevel: logLevel.NOTHING,
          });
          const consumer = kafka.consumer({ groupId: unique('reader'), ...FAST_GROUPS });
          await consumer.connect();
          closers.push(() => consumer.disconnect());
          const read: RawRead[] = [];
          await consumer.subscribe({ topics: [topic], fromBeginning: true });
          await consumer.run({
            eachMessage: async ({ message }) => {
              const headers: Record<string, string> = {};
              for (const [name, value] of Object.entries(message.headers ?? {}))
                if (value !== undefined) headers[name] = String(value);
              read.push({
                body: message.value?.toString('utf8') ?? '',
                headers,
                ...(message.key ? { key: message.key.toString() } : {}),
              });
            },
          });
          await waitFor(
            () => read.length >= count,
            () => `${read.length}/${count} records read`,
            20_000,
          );
          return read;
        },
        { key: true, routingKey: false },
      );
    }, 40_000);
  },
);
