import { createService, ErrorCode, MessagePublisher } from '@switchyard/core';
import { brokerReachable, messageConsumerScenario, messagePublisherScenario, type RawRead } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStreamsTransport } from '../src/index.js';
import { adminConnection, deleteKeys, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefix = uniquePrefix('endpoint');

afterAll(async () => {
  await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

describe.runIf(reachable)('message consumer of a foreign stream through the service pipeline (consumeEndpoint)', () => {
  const transports: RedisStreamsTransport[] = [];
  const transport = () => {
    const made = new RedisStreamsTransport({ url: REDIS_URL, prefix, leaseMs: 2000 });
    transports.push(made);
    return made;
  };
  afterAll(() => Promise.all(transports.map((t) => t.close())));

  it('retries a failing handler with delayed retries and dead-letters a poison message in the service store', async () => {
    // Foreign streams, written by another system with a plain XADD of a JSON `data` field.
    const endpoint = `${prefix}:foreign:${uniqueName('orders')}`;
    const convertEndpoint = `${prefix}:foreign:${uniqueName('refs')}`;
    for (const key of [endpoint, convertEndpoint]) await admin.xadd(key, '*', 'seed', 'before the consumer group');
    const produce = (key: string) => async (payload: unknown) => {
      await admin.xadd(key, '*', 'content-type', 'application/json', 'data', JSON.stringify(payload));
    };
    await messageConsumerScenario({
      transport,
      service: uniqueName('consumer'),
      endpoint,
      produce: produce(endpoint),
      convertEndpoint: { endpoint: convertEndpoint, produce: produce(convertEndpoint) },
    });
  });

  it('start rejects with SY_CONFIGURATION when the endpoint is not a stream', async () => {
    const service = createService({ name: uniqueName('missing'), transport: transport(), handleSignals: false });
    service.consumeEndpoint({ endpoint: `${prefix}:no-such-stream` }, () => undefined);
    await expect(service.start()).rejects.toMatchObject({ code: ErrorCode.Configuration });
  });
});

describe.runIf(reachable)('message publisher to a foreign stream (MessagePublisher)', () => {
  it('appends raw entries: headers as fields, the body as `data`', async () => {
    const transport = new RedisStreamsTransport({ url: REDIS_URL, prefix });
    try {
      const stream = `${prefix}:foreign:${uniqueName('published')}`;
      await messagePublisherScenario(
        transport,
        stream,
        async () => {
          const entries = await admin.xrange(stream, '-', '+');
          return entries.map(([, fields]): RawRead => {
            const headers: Record<string, string> = {};
            for (let i = 0; i + 1 < fields.length; i += 2) headers[fields[i] as string] = fields[i + 1] as string;
            const { data, ...rest } = headers;
            return { body: data ?? '', headers: rest };
          });
        },
        { key: false, routingKey: false },
      );
      await admin.set(`${prefix}:not-a-stream`, 'x');
      await expect(
        new MessagePublisher(transport).publish(`${prefix}:not-a-stream`, { payload: 1 }),
      ).rejects.toMatchObject({ code: ErrorCode.Configuration });
    } finally {
      await transport.close();
    }
  });
});
