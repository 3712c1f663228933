import { brokerReachable, type ForeignEventSpec, foreignProducerScenario, switchyardOutput } from '@switchyard/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('cloudevents');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

/**
 * The foreign party is the official CloudEvents SDK; ioredis only moves the
 * bytes. A foreign producer writes a plain `XADD` to a service's stream
 * (`<prefix>:ch:<service>`): binary mode as `ce_`/`ce-` fields plus
 * `content-type` and `data`, or structured mode as `content-type:
 * application/cloudevents+json` and the event document in `data`.
 */
describe.runIf(reachable)('CloudEvents SDK as the foreign party on Redis Streams', () => {
  const transports: RedisStreamsTransport[] = [];
  const transport = () => {
    const made = new RedisStreamsTransport({ url: REDIS_URL, prefix, leaseMs: 2000 });
    transports.push(made);
    return made;
  };
  afterAll(() => Promise.all(transports.map((t) => t.close())));

  const xadd = async (service: string, spec: ForeignEventSpec, mode: string) => {
    const event = new CloudEvent({ ...spec });
    const fields: string[] = [];
    if (mode === 'structured') {
      const message = HTTP.structured(event);
      fields.push('content-type', String(message.headers['content-type']), 'data', message.body as string);
    } else {
      const message = HTTP.binary(event);
      const fieldPrefix = mode.slice('binary '.length);
      for (const [name, value] of Object.entries(message.headers)) {
        fields.push(name.startsWith('ce-') ? fieldPrefix + name.slice(3) : name, String(value));
      }
      fields.push('data', message.body as string);
    }
    await admin.xadd(`${prefix}:ch:${service}`, '*', ...fields);
  };

  it('SDK-built commands and events, XADDed in binary (ce_, ce-) and structured mode, reach typed handlers intact', async () => {
    await foreignProducerScenario(
      transport,
      {
        modes: ['binary ce_', 'binary ce-', 'structured'],
        sendCommand: (service, spec, mode) => xadd(service, spec, mode),
        // Redis has no broker-side fan-out: a foreign producer XADDs an event to each subscriber's stream.
        publishEvent: async (spec, mode, subscribers) => {
          for (const subscriber of subscribers) await xadd(subscriber, spec, mode);
        },
      },
      { orders: uniqueName('orders'), shipping: uniqueName('shipping') },
    );
  });

  it("Switchyard's stream entries are valid CloudEvents 1.0 to the SDK", async () => {
    const foreign = uniqueName('foreign');
    const tap = uniqueName('tap');
    await transport().provision({ channels: [{ name: tap, subscriptions: ['interop.shipment.sent'] }] });
    const sent = await switchyardOutput(transport(), {
      sender: uniqueName('sender'),
      foreignService: foreign,
      eventType: 'interop.shipment.sent',
    });
    const read = async (channel: string) => {
      const entries = await admin.xrangeBuffer(`${prefix}:ch:${channel}`, '-', '+');
      const fields = entries[0]?.[1];
      if (fields === undefined) throw new Error(`nothing on stream of '${channel}'`);
      const map = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!.toString());
      const headers = JSON.parse(map.get('h') ?? '{}') as Record<string, string>;
      const event = HTTP.toEvent({ headers, body: map.get('b') ?? '' }) as CloudEvent<unknown>;
      expect(event.validate()).toBe(true);
      return event;
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
