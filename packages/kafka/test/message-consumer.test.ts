import { messageConsumerScenario } from '@switchyard/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, it } from 'vitest';
import { unique } from './cluster.js';
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
  },
);
