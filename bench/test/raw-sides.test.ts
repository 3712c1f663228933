import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type RawNatsOptions, rawNatsProducer } from '../src/raw/nats.js';
import { type RawPostgresOptions, rawPostgresProducer } from '../src/raw/postgres.js';
import { type RawRabbitOptions, type RawWire, rawRabbitProducer } from '../src/raw/rabbitmq.js';
import { runLoop } from '../src/run-loop.js';

const POSTGRES = process.env.SWITCHYARD_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS = process.env.SWITCHYARD_NATS_SERVER ?? '127.0.0.1:4222';
const RABBITMQ = process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const suffix = () => randomBytes(4).toString('hex');

describe('raw PostgreSQL baseline', () => {
  const admin = new pg.Pool({ connectionString: POSTGRES, max: 1 });
  const schemas: string[] = [];
  afterAll(async () => {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  });

  it('handles every message through the shared loop and leaves no row behind', async () => {
    const schema = `sy_benchtest_${suffix()}`;
    schemas.push(schema);
    const options: RawPostgresOptions = {
      connectionString: POSTGRES,
      schema,
      claim: 100,
      producers: 4,
      maxInsert: 500,
    };
    const result = await runLoop({
      layout: 'single-thread',
      consumer: { kind: 'raw-postgres', options },
      producer: () => rawPostgresProducer(options),
      messages: 1_234,
      window: 600,
      senders: 400,
    });
    expect(result.msgsPerSec).toBeGreaterThan(0);
    expect(result.cpuUsPerMsg).toBeGreaterThan(0);
    // Every handled row was deleted: by a later claim or, for the last batch, by stop.
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM "${schema}".raw_messages`);
    expect(rows[0].n).toBe(0);
  });
});

describe('raw NATS JetStream baseline', () => {
  it('handles every message through the shared loop and deletes its stream when stopped', async () => {
    const options: RawNatsOptions = { server: NATS, stream: `sybench_test_${suffix()}`, batch: 256 };
    const result = await runLoop({
      layout: 'single-thread',
      consumer: { kind: 'raw-nats', options },
      producer: () => rawNatsProducer(options),
      messages: 1_234,
      window: 600,
    });
    expect(result.msgsPerSec).toBeGreaterThan(0);
    const nc = await connect({ servers: NATS });
    try {
      const names: string[] = [];
      for await (const name of (await jetstreamManager(nc)).streams.names()) names.push(name);
      expect(names).not.toContain(options.stream);
    } finally {
      await nc.close();
    }
  });
});

describe('raw RabbitMQ baseline', () => {
  it.each<RawWire>(['binary', 'structured', 'bare', 'table'])(
    'reads every message it sent in %s form and deletes its queue when stopped',
    async (wire) => {
      const options: RawRabbitOptions = {
        url: RABBITMQ,
        queue: `sy-benchtest-${wire}-${suffix()}`,
        prefetch: 200,
        wire,
      };
      // A form the consumer could not read would throw in its callback: nothing handled, the loop never ends.
      const result = await runLoop({
        layout: 'single-thread',
        consumer: { kind: 'raw-rabbitmq', options },
        producer: () => rawRabbitProducer(options),
        messages: 500,
        window: 200,
      });
      expect(result.msgsPerSec).toBeGreaterThan(0);
      const connection = await amqp.connect(RABBITMQ);
      try {
        const channel = await connection.createChannel();
        channel.on('error', () => undefined);
        await expect(channel.checkQueue(options.queue)).rejects.toThrow(/NOT_FOUND/);
      } finally {
        await connection.close().catch(() => undefined);
      }
    },
    30_000,
  );
});
