import {
  type EcotoneRead,
  type EcotoneVector,
  ecotoneReceiveScenario,
  ecotoneSendScenario,
  waitFor,
  wireVector,
} from '@switchyard/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, it } from 'vitest';
import { FAST_GROUPS, unique } from './cluster.js';
import { kafkaFixture } from './helpers.js';

const fixture = await kafkaFixture();

/** An Ecotone Kafka record (docs/wire-format.md): record key, headers (text) and value. */
interface KafkaVector extends EcotoneVector {
  readonly key: string;
  readonly headers: Record<string, string>;
}

/**
 * Ecotone's Kafka channel (`KafkaOutboundChannelAdapter`) writes every
 * message header as a record header of the same name and the payload as the
 * value; its Service Map distributed bus uses the same header names as on
 * AMQP. The foreign party here is kafkajs writing the golden vectors' bytes.
 */
describe.runIf(fixture.reachable)('Ecotone distributed bus on Kafka', () => {
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });
  const kafka = () =>
    new Kafka({ brokers: [...fixture.cluster().brokers], clientId: unique('ecotone'), logLevel: logLevel.NOTHING });

  it("Ecotone's golden command and event reach typed Switchyard handlers", async () => {
    const prefix = `${unique('eco')}.`;
    const producer = kafka().producer({ allowAutoTopicCreation: true });
    await producer.connect();
    closers.push(() => producer.disconnect());
    const vectors = {
      command: wireVector<KafkaVector>('ecotone-kafka-command'),
      event: wireVector<KafkaVector>('ecotone-kafka-event'),
    };
    await ecotoneReceiveScenario({
      transport: () => fixture.transport({ topicPrefix: prefix }),
      listener: unique('listener'),
      vectors,
      // Ecotone's channel topics: the command to the service's topic, the event to the shared events topic.
      produce: async (which) => {
        const v = vectors[which];
        const topic = which === 'command' ? `${prefix}ch.order-service` : `${prefix}events`;
        await producer.send({ topic, acks: -1, messages: [{ key: v.key, value: v.body, headers: v.headers }] });
      },
    });
  }, 40_000);

  it('a Switchyard command and event to an Ecotone service map entry carry the headers Ecotone reads', async () => {
    const prefix = `${unique('eco')}.`;
    const ecotoneService = unique('php-billing');
    const consumer = kafka().consumer({ groupId: unique('ecotone-tap'), ...FAST_GROUPS });
    await consumer.connect();
    closers.push(() => consumer.disconnect());
    const read: Record<'command' | 'event', EcotoneRead[]> = { command: [], event: [] };
    const transport = () => fixture.transport({ topicPrefix: prefix });
    await ecotoneSendScenario({
      transport,
      sender: unique('node-orders'),
      ecotoneService,
      read: async (what) => {
        if (read.command.length + read.event.length === 0) {
          await consumer.subscribe({
            topics: [`${prefix}ch.${ecotoneService}`, `${prefix}events`],
            fromBeginning: true,
          });
          await consumer.run({
            eachMessage: async ({ topic, message }) => {
              const headers: Record<string, string> = {};
              for (const [name, value] of Object.entries(message.headers ?? {})) {
                if (value !== undefined) headers[name] = String(value);
              }
              const body = message.value?.toString('utf8') ?? '';
              read[topic === `${prefix}events` ? 'event' : 'command'].push({ headers, body });
            },
          });
        }
        await waitFor(() => read[what].length > 0, `the ${what} on Ecotone's topic`, 20_000);
        return read[what][0] as EcotoneRead;
      },
    });
  }, 40_000);
});
