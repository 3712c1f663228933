import { type ForeignEventSpec, foreignProducerScenario, switchyardOutput, waitFor } from '@switchyard/testing';
import { CloudEvent, Kafka as CloudEventsKafka, type KafkaEvent } from 'cloudevents';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { FAST_GROUPS, unique } from './cluster.js';
import { kafkaFixture } from './helpers.js';

const fixture = await kafkaFixture();

/**
 * The foreign party is the official CloudEvents SDK and its Kafka binding
 * (`ce_` headers, or structured mode); kafkajs only moves the records.
 */
describe.runIf(fixture.reachable)('CloudEvents SDK as the foreign party on Kafka', () => {
  const prefix = `${unique('ce')}.`;
  const closers: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });
  const transport = () => fixture.transport({ topicPrefix: prefix });
  const kafka = () =>
    new Kafka({ brokers: [...fixture.cluster().brokers], clientId: unique('foreign'), logLevel: logLevel.NOTHING });

  it('SDK-built commands and events, binary (ce_) and structured, reach typed handlers without any Switchyard header', async () => {
    const producer: Producer = kafka().producer({ allowAutoTopicCreation: true });
    await producer.connect();
    closers.push(() => producer.disconnect());
    const produce = async (topic: string, spec: ForeignEventSpec, mode: string) => {
      const event = new CloudEvent({ ...spec }) as unknown as KafkaEvent<unknown>;
      const message = mode === 'structured' ? CloudEventsKafka.structured(event) : CloudEventsKafka.binary(event);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers)) {
        if (value !== undefined) headers[name] = String(value);
      }
      const value = typeof message.value === 'string' ? message.value : JSON.stringify(message.value);
      await producer.send({ topic, acks: -1, messages: [{ value, headers }] });
    };
    await foreignProducerScenario(
      transport,
      {
        modes: ['binary ce_', 'structured'],
        // A command: the service's topic.
        sendCommand: (service, spec, mode) => produce(`${prefix}ch.${service}`, spec, mode),
        // An event: the events topic, routed by its type (no x-sy-routing-key header).
        publishEvent: (spec, mode) => produce(`${prefix}events`, spec, mode),
      },
      { orders: unique('orders'), shipping: unique('shipping') },
    );
  });

  it("Switchyard's records are valid CloudEvents 1.0 to the SDK's Kafka binding (ce_ headers by default)", async () => {
    const foreign = unique('foreign');
    const consumer = kafka().consumer({ groupId: unique('tap'), ...FAST_GROUPS });
    await consumer.connect();
    closers.push(() => consumer.disconnect());
    const events: CloudEvent<unknown>[] = [];
    const rawHeaders: Array<Record<string, string>> = [];
    const sender = unique('sender');
    const sent = await switchyardOutput(transport(), {
      sender,
      foreignService: foreign,
      eventType: 'interop.shipment.sent',
    });
    await consumer.subscribe({ topics: [`${prefix}ch.${foreign}`, `${prefix}events`], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          if (value !== undefined) headers[name] = String(value);
        }
        const record = { headers, key: message.key?.toString() ?? '', value: message.value?.toString('utf8') ?? '' };
        const event = CloudEventsKafka.toEvent(record as unknown as Parameters<typeof CloudEventsKafka.toEvent>[0]);
        // The events topic also holds the previous test's foreign records: keep Switchyard's own.
        if ((event as CloudEvent<unknown>).source !== sender) return;
        rawHeaders.push(headers);
        events.push(event as CloudEvent<unknown>);
      },
    });
    await waitFor(
      () =>
        events.some((e) => e.type === 'interop.shipment.sent') && events.some((e) => e.type === 'interop.order.place'),
      () => `records read: ${events.map((e) => e.type).join(', ')}`,
      20_000,
    );
    for (const event of events) expect(event.validate()).toBe(true);
    expect(events.find((e) => e.type === 'interop.order.place')).toMatchObject({
      specversion: '1.0',
      source: expect.any(String),
      data: sent.command,
      targetservice: foreign,
    });
    expect(events.find((e) => e.type === 'interop.shipment.sent')).toMatchObject({ data: sent.event });
    for (const headers of rawHeaders) {
      expect(headers.ce_id).toEqual(expect.any(String));
      expect(Object.keys(headers).some((name) => name.startsWith('ce-'))).toBe(false);
    }
  }, 30_000);
});
