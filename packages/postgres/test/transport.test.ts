import { randomUUID } from 'node:crypto';
import { ErrorCode, matchesPattern, type TransportMessage } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresTransport, parsePostgresUrl, transportFromUrl } from '../src/index.js';
import { CONSUMER_SESSION, PRODUCER_SESSION, withSessionOptions } from '../src/pools.js';
import { patternRegex } from '../src/schema.js';
import { dropSchemas, POSTGRES_URL, probePostgres, testPool, uniqueSchema } from './helpers.js';

const reachable = await brokerReachable('PostgreSQL at 127.0.0.1:5432', probePostgres);

describe('postgres:// URLs and options', () => {
  it("takes the transport's own query parameters out and leaves the rest to pg", () => {
    expect(
      parsePostgresUrl(
        'postgres://u:p@db:5432/app?schema=queue&leaseMs=5000&sslmode=require&durableAck=true&listen=false',
      ),
    ).toEqual({
      connectionString: 'postgres://u:p@db:5432/app?sslmode=require',
      schema: 'queue',
      leaseMs: 5_000,
      durableAck: true,
      listen: false,
    });
    expect(parsePostgresUrl('postgresql://db/app?application_name=shop')).toEqual({
      connectionString: 'postgresql://db/app?application_name=shop',
      applicationName: 'shop',
    });
    expect(transportFromUrl('postgres://db/app?schema=queue').schema).toBe('queue');
  });

  it('refuses bad options at construction, saying what to change', () => {
    const bad = (url: string) => () => transportFromUrl(url);
    expect(bad('postgres://db/app?leaseMs=soon')).toThrow(/leaseMs.*number/);
    expect(bad('postgres://db/app?schema=Bad-Name')).toThrow(/plain identifier/);
    expect(bad('postgres://db/app?poolSize=0')).toThrow(/poolSize/);
    expect(bad('postgres://db/app?durableAck=yes')).toThrow(/true or false/);
    expect(() => new PostgresTransport({ connectionString: 'mysql://db' })).toThrow(
      expect.objectContaining({ code: ErrorCode.Configuration }),
    );
  });
});

describe.runIf(reachable)('PostgresTransport on PostgreSQL', () => {
  const pool = testPool();
  const schema = uniqueSchema('transport');
  const transports: PostgresTransport[] = [];
  const open = (options: Partial<ConstructorParameters<typeof PostgresTransport>[0]> = {}) => {
    const transport = new PostgresTransport({ connectionString: POSTGRES_URL, schema, poolSize: 2, ...options });
    transports.push(transport);
    return transport;
  };
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.close()));
    await dropSchemas(pool, [schema]);
    await pool.end();
  });

  it("routes with the same semantics as core's matcher (patterns become regular expressions in SQL)", async () => {
    const patterns = [
      'order.placed',
      'order.*',
      'order.#',
      '#',
      '*',
      '*.placed',
      '#.placed',
      'a.#.b',
      'a.*.#',
      '#.x.#',
    ];
    const keys = ['order', 'order.placed', 'order.placed.eu', 'a.b', 'a.x.b', 'a.x.y.b', 'x', 'b.x.c', 'placed', 'ab'];
    const cases = patterns.flatMap((pattern) => keys.map((key) => ({ pattern, key })));
    const result = await pool.query<{ m: boolean }>(
      `SELECT ('.' || k) ~ r AS m FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(k, r, n) ORDER BY n`,
      [cases.map((c) => c.key), cases.map((c) => patternRegex(c.pattern))],
    );
    const sql = result.rows.map((row) => row.m);
    expect(sql).toEqual(cases.map((c) => matchesPattern(c.pattern, c.key)));
  });

  it('wakes an idle consumer by NOTIFY within milliseconds, for sends from another process and rows inserted by hand', async () => {
    // A fallback poll of a minute: only a notification can explain a prompt delivery.
    const consumer = open({ pollIntervalMs: 60_000 });
    const producer = open();
    const channel = `wake-${randomUUID()}`;
    const arrived = new Map<string, number>();
    const subscription = await consumer.consume(channel, async (delivery) => {
      arrived.set(delivery.message.id, performance.now());
      await delivery.ack();
    });
    // Warm both connections up, then let the consumer find the channel empty and go to sleep.
    const warm: TransportMessage = { id: randomUUID(), headers: {}, body: new Uint8Array([0]) };
    await producer.send(channel, [warm]);
    await waitFor(() => arrived.has(warm.id), 'the first message', 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const message: TransportMessage = { id: randomUUID(), headers: {}, body: new Uint8Array([1]) };
    const sentAt = performance.now();
    await producer.send(channel, [message]);
    await waitFor(() => arrived.has(message.id), 'the notified consumer', 5_000);
    const sendLatency = arrived.get(message.id)! - sentAt;
    const insertedAt = performance.now();
    await pool.query(
      `INSERT INTO "${schema}".sy_messages (channel, id, headers, body) VALUES ($1, 'by-hand', '{}', '')`,
      [channel],
    );
    await waitFor(() => arrived.has('by-hand'), 'the row inserted by hand', 5_000);
    const insertLatency = arrived.get('by-hand')! - insertedAt;
    console.log(
      `[postgres wake-up] send → handler ${sendLatency.toFixed(1)} ms, INSERT by hand → handler ${insertLatency.toFixed(1)} ms (poll: 60,000 ms)`,
    );
    expect(sendLatency).toBeLessThan(2_000);
    expect(insertLatency).toBeLessThan(2_000);
    await subscription.close();
  });

  it('stores ids, headers and bodies byte for byte when a batch packs them into binary blobs (multi-byte text, every byte value, empty bodies)', async () => {
    const transport = open();
    const channel = `pack-${randomUUID()}`;
    const topic = `pack.${randomUUID().slice(0, 8)}`;
    await transport.provision({ channels: [{ name: channel, subscriptions: [`${topic}.#`] }] });
    const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const sent: TransportMessage[] = [
      { id: `é-${randomUUID()}`, headers: { 'ce-type': 'a"b\\c', note: 'ünïcödé 🚀, {x}' }, body: allBytes },
      { id: randomUUID(), headers: {}, body: new Uint8Array(0), key: 'k,"1"' },
      { id: `🚀${randomUUID()}`, headers: { q: '"\'\\' }, body: new TextEncoder().encode('{"emoji":"🚀"}') },
    ];
    const received = new Map<string, TransportMessage>();
    const subscription = await transport.consume(channel, async (delivery) => {
      received.set(delivery.message.id, delivery.message);
      await delivery.ack();
    });
    // One send call, so the three share one insert; then the same three fanned out by publish.
    await transport.send(channel, sent);
    await waitFor(() => received.size === 3, 'the sent batch');
    const published = sent.map((message) => ({ ...message, id: `${message.id}-p`, routingKey: `${topic}.x` }));
    await transport.publish(published);
    await waitFor(() => received.size === 6, 'the published batch');
    await subscription.close();
    for (const message of [...sent, ...published]) {
      const got = received.get(message.id);
      expect(got?.headers).toEqual(message.headers);
      expect(Buffer.from(got?.body ?? []).equals(Buffer.from(message.body))).toBe(true);
      expect(got?.key).toBe(message.key);
    }
  });

  it('with durableAck, ack resolves once the row is deleted; without it, close commits the write-behind acks', async () => {
    for (const durableAck of [true, false]) {
      const transport = open({ durableAck });
      const channel = `ack-${randomUUID()}`;
      const count = async () =>
        (await pool.query(`SELECT count(*)::int AS n FROM "${schema}".sy_messages WHERE channel = $1`, [channel]))
          .rows[0].n as number;
      await transport.send(channel, [{ id: randomUUID(), headers: {}, body: new Uint8Array([1]) }]);
      const left: number[] = [];
      let acked = false;
      const subscription = await transport.consume(channel, async (delivery) => {
        await delivery.ack();
        if (durableAck) left.push(await count());
        acked = true;
      });
      await waitFor(() => acked && left.length === (durableAck ? 1 : 0), 'the ack');
      await subscription.close();
      if (durableAck) expect(left).toEqual([0]);
      expect(await count()).toBe(0);
    }
  });

  it('keeps each key in send order across two consuming processes, one message of a key at a time', async () => {
    const producer = open();
    const consumers = [open(), open()];
    const channel = `keys-${randomUUID()}`;
    const keys = ['a', 'b', 'c', 'd', 'e'];
    const perKey = 30;
    const sent: TransportMessage[] = [];
    for (let n = 0; n < perKey; n++) {
      for (const key of keys) sent.push({ id: `${key}-${n}`, key, headers: {}, body: new Uint8Array([n]) });
    }
    for (let i = 0; i < sent.length; i += 25) await producer.send(channel, sent.slice(i, i + 25));
    const order = new Map<string, number[]>(keys.map((key) => [key, []]));
    const busy = new Set<string>();
    let overlaps = 0;
    let handled = 0;
    const subscriptions = await Promise.all(
      consumers.map((consumer) =>
        consumer.consume(
          channel,
          async (delivery) => {
            const key = delivery.message.key!;
            if (busy.has(key)) overlaps++;
            busy.add(key);
            order.get(key)!.push(delivery.message.body[0]!);
            await new Promise((resolve) => setTimeout(resolve, 1));
            busy.delete(key);
            await delivery.ack();
            handled++;
          },
          { concurrency: 4 },
        ),
      ),
    );
    await waitFor(() => handled === sent.length, 'every keyed message', 30_000);
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    expect(overlaps).toBe(0);
    for (const key of keys) expect(order.get(key)).toEqual(Array.from({ length: perKey }, (_, n) => n));
  });

  it("adds the transport's session settings to options given in the URL", async () => {
    const url = `${POSTGRES_URL}?options=${encodeURIComponent('-c statement_timeout=1234')}`;
    const client = new pg.Client(withSessionOptions({ connectionString: url }, CONSUMER_SESSION));
    await client.connect();
    try {
      const show = async (name: string) => Object.values((await client.query(`SHOW ${name}`)).rows[0])[0];
      expect(await show('statement_timeout')).toBe('1234ms');
      expect(await show('enable_sort')).toBe('off');
      expect(await show('synchronous_commit')).toBe('off');
    } finally {
      await client.end();
    }
    // Sends: durable commits, and no trigger NOTIFY inside the inserting transaction.
    const producer = new pg.Client(withSessionOptions({ connectionString: POSTGRES_URL }, PRODUCER_SESSION));
    await producer.connect();
    try {
      const settings = await producer.query(
        "SELECT current_setting('synchronous_commit') AS sync, current_setting('switchyard.wake', true) AS wake",
      );
      expect(settings.rows[0]).toEqual({ sync: 'on', wake: 'off' });
    } finally {
      await producer.end();
    }
  });

  it('migrates once when many transports start at the same moment', async () => {
    const fresh = uniqueSchema('race');
    const many = Array.from({ length: 6 }, () => open({ schema: fresh }));
    await Promise.all(many.map((t) => t.ping()));
    const applied = await pool.query(`SELECT component, version FROM "${fresh}".sy_migrations ORDER BY version`);
    expect(applied.rows).toEqual([
      { component: 'transport', version: 1 },
      { component: 'transport', version: 2 },
    ]);
    await Promise.all(many.map((t) => t.close()));
    await dropSchemas(pool, [fresh]);
  });
});
