import { randomUUID } from 'node:crypto';
import { createService, ErrorCode, MessagePublisher } from '@switchyard/core';
import {
  brokerReachable,
  type ForeignEventSpec,
  foreignProducerScenario,
  messageConsumerScenario,
  messagePublisherScenario,
  type RawRead,
  switchyardOutput,
  waitFor,
} from '@switchyard/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresTransport } from '../src/index.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);
const own = uniqueSchema('own');
/** Another deployment's schema: Switchyard's table layout, written to by other programs with INSERT. */
const foreign = uniqueSchema('foreign');
/** The CloudEvents tests' own schema: the dead-letter table of a schema is shared by its services. */
const ceSchema = uniqueSchema('ce');
const admin = testPool();
const transports: PostgresTransport[] = [];
const transport = (schema = own) => {
  const made = new PostgresTransport({ connectionString: POSTGRES_URL, schema, leaseMs: 2_000 });
  transports.push(made);
  return made;
};
const unique = (label: string) => `${label}-${randomUUID().slice(0, 8)}`;

/** A program that is not Switchyard: one plain INSERT per message, the documented table contract. */
const insert = (schema: string, channel: string, headers: Record<string, string>, body: string) =>
  admin.query(
    `INSERT INTO "${schema}".sy_messages (channel, id, headers, body) VALUES ($1, $2, $3, convert_to($4, 'UTF8'))`,
    [channel, randomUUID(), JSON.stringify(headers), body],
  );

beforeAll(async () => {
  if (!reachable) return;
  // The foreign schema is made by another deployment's transport, not by the one under test.
  const other = new PostgresTransport({ connectionString: POSTGRES_URL, schema: foreign });
  await other.ping();
  await other.close();
});

afterAll(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  if (reachable) await dropSchemas(admin, [own, foreign, ceSchema]);
  await admin.end();
});

describe.runIf(reachable)('PostgreSQL message consumer of <schema>.<channel> (consumeEndpoint)', () => {
  it('retries a failing handler with delayed retries and dead-letters a poison message in the service store', async () => {
    const channel = unique('legacy-orders');
    const refs = unique('legacy-refs');
    const produce = (to: string) => async (payload: unknown) => {
      await insert(foreign, to, { 'content-type': 'application/json' }, JSON.stringify(payload));
    };
    await messageConsumerScenario({
      transport,
      service: unique('consumer'),
      endpoint: `${foreign}.${channel}`,
      produce: produce(channel),
      convertEndpoint: { endpoint: `${foreign}.${refs}`, produce: produce(refs) },
    });
  });

  it('reads CloudEvents attributes in any binding form (ce_, cloudEvents_, cloudEvents:, ce-)', async () => {
    const channel = unique('bindings');
    const seen: Array<{ id: string; type: string; source: string }> = [];
    const service = createService({ name: unique('bindings'), transport: transport(), handleSignals: false });
    service.consumeEndpoint({ endpoint: `${foreign}.${channel}` }, (_payload, ctx) => {
      seen.push({ id: ctx.headers.id, type: ctx.headers.name, source: ctx.headers.source });
    });
    await service.start();
    try {
      for (const prefix of ['ce_', 'cloudEvents_', 'cloudEvents:', 'ce-']) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        for (const [name, value] of Object.entries({
          specversion: '1.0',
          id: `id-${prefix}`,
          type: 'legacy.placed',
          source: '/erp',
        })) {
          headers[`${prefix}${name}`] = value;
        }
        await insert(foreign, channel, headers, '{"orderId":"o"}');
      }
      await waitFor(
        () => seen.length === 4,
        () => `seen ${JSON.stringify(seen)}`,
      );
      expect(seen.map((s) => s.id).sort()).toEqual(['id-ce-', 'id-ce_', 'id-cloudEvents:', 'id-cloudEvents_'].sort());
      for (const s of seen) expect(s).toMatchObject({ type: 'legacy.placed', source: '/erp' });
    } finally {
      await service.stop();
    }
  });

  it('start rejects with SY_CONFIGURATION for a schema without a Switchyard table, and creates nothing', async () => {
    const missing = uniqueSchema('missing');
    const service = createService({ name: unique('missing'), transport: transport(), handleSignals: false });
    service.consumeEndpoint({ endpoint: `${missing}.orders` }, () => undefined);
    await expect(service.start()).rejects.toMatchObject({ code: ErrorCode.Configuration });
    const { rows } = await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [missing]);
    expect(rows).toEqual([]);
    await expect(new MessagePublisher(transport()).publish('no-dot', { payload: 1 })).rejects.toMatchObject({
      code: ErrorCode.Configuration,
    });
  });
});

describe.runIf(reachable)('PostgreSQL message publisher to <schema>.<channel> (MessagePublisher)', () => {
  it('inserts raw rows, committed when publish resolves: caller headers, content type, key', async () => {
    const channel = unique('published');
    await messagePublisherScenario(
      transport(),
      `${foreign}.${channel}`,
      async () => {
        const { rows } = await admin.query<{ headers: string; body: Buffer; key: string | null }>(
          `SELECT headers, body, key FROM "${foreign}".sy_messages WHERE channel = $1 ORDER BY seq`,
          [channel],
        );
        return rows.map(
          (row): RawRead => ({
            body: row.body.toString('utf8'),
            headers: JSON.parse(row.headers) as Record<string, string>,
            ...(row.key === null ? {} : { key: row.key }),
          }),
        );
      },
      { key: true, routingKey: false },
    );
  });
});

/**
 * PostgreSQL has no CloudEvents binding: its table contract (headers as a JSON
 * object of `ce-<attribute>` names and `content-type`, the data as the body)
 * is Switchyard's own. The official SDK builds the events; a plain INSERT writes them.
 */
describe.runIf(reachable)('CloudEvents SDK as the foreign party on PostgreSQL', () => {
  const row = (spec: ForeignEventSpec, mode: string) => {
    const message =
      mode === 'structured' ? HTTP.structured(new CloudEvent({ ...spec })) : HTTP.binary(new CloudEvent({ ...spec }));
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value);
    return { headers, body: String(message.body) };
  };

  it('SDK-built commands and events, binary (ce-) and structured, reach typed handlers intact', async () => {
    await foreignProducerScenario(
      () => transport(ceSchema),
      {
        modes: ['binary ce-', 'structured'],
        // A command: a row on the service's channel.
        sendCommand: async (service, spec, mode) => {
          const { headers, body } = row(spec, mode);
          await insert(ceSchema, service, headers, body);
        },
        // An event: a row on the channel of each subscribed service (a plain INSERT does no fan-out).
        publishEvent: async (spec, mode, subscribers) => {
          const { headers, body } = row(spec, mode);
          for (const service of subscribers) await insert(ceSchema, service, headers, body);
        },
      },
      { orders: unique('ce-orders'), shipping: unique('ce-shipping') },
    );
  });

  it("Switchyard's rows are valid CloudEvents 1.0 to the SDK", async () => {
    const foreignService = unique('ce-foreign');
    const tap = unique('ce-tap');
    // A channel subscribed to the event type, so the publish leaves a row to read.
    const subscriber = transport(ceSchema);
    await subscriber.provision({ channels: [{ name: tap, subscriptions: ['interop.shipment.sent'] }] });
    const sent = await switchyardOutput(transport(ceSchema), {
      sender: unique('ce-sender'),
      foreignService,
      eventType: 'interop.shipment.sent',
    });
    const { rows } = await admin.query<{ channel: string; headers: string; body: Buffer }>(
      `SELECT channel, headers, body FROM "${ceSchema}".sy_messages WHERE channel = ANY($1) ORDER BY seq`,
      [[foreignService, tap]],
    );
    expect(rows.map((r) => r.channel).sort()).toEqual([foreignService, tap].sort());
    const events = rows.map(
      (r) => HTTP.toEvent({ headers: JSON.parse(r.headers), body: r.body.toString('utf8') }) as CloudEvent<unknown>,
    );
    for (const event of events) expect(event.validate()).toBe(true);
    expect(events.find((e) => e.type === 'interop.order.place')).toMatchObject({
      specversion: '1.0',
      data: sent.command,
      targetservice: foreignService,
    });
    expect(events.find((e) => e.type === 'interop.shipment.sent')).toMatchObject({ data: sent.event });
  });
});
