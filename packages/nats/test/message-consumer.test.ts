import { jetstream, jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { createService, ErrorCode, MessagePublisher } from '@switchyard/core';
import {
  brokerReachable,
  messageConsumerScenario,
  messagePublisherScenario,
  type RawRead,
  waitFor,
} from '@switchyard/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { adminConnection, deleteStreams, NATS_URL, probeNats, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`NATS at ${NATS_URL}`, probeNats);
const prefix = uniquePrefix('endpoint');
/** A stream another system owns: Switchyard only consumes from and publishes to it. */
const foreignStream = `${prefix}_foreign`;
const decoder = new TextDecoder();
const transports: NatsTransport[] = [];
let admin: NatsConnection;

const transport = () => {
  const made = new NatsTransport({ url: NATS_URL, prefix, ackWaitMs: 2_000 });
  transports.push(made);
  return made;
};
const subject = (label: string) => `${prefix}.legacy.${label}.${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  if (!reachable) return;
  admin = await adminConnection();
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({
    name: foreignStream,
    subjects: [`${prefix}.legacy.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
  });
});

afterAll(async () => {
  await Promise.allSettled(transports.map((t) => t.close()));
  if (!reachable) return;
  await (await jetstreamManager(admin)).streams.delete(foreignStream).catch(() => {});
  await admin.close();
  await deleteStreams(prefix);
});

/** A foreign JetStream producer: plain JSON, a content type, nothing of Switchyard's or CloudEvents'. */
const jetStreamProducer = (to: string) => async (payload: unknown) => {
  const h = natsHeaders();
  h.set('content-type', 'application/json');
  await jetstream(admin).publish(to, JSON.stringify(payload), { headers: h });
};

describe.runIf(reachable)('message consumer of a foreign JetStream subject (consumeEndpoint)', () => {
  it('retries a failing handler with delayed retries and dead-letters a poison message in the service store', async () => {
    const endpoint = subject('orders');
    const convertEndpoint = subject('refs');
    await messageConsumerScenario({
      transport,
      service: `consumer-${Math.random().toString(36).slice(2, 8)}`,
      endpoint,
      produce: jetStreamProducer(endpoint),
      convertEndpoint: { endpoint: convertEndpoint, produce: jetStreamProducer(convertEndpoint) },
    });
  });

  it('consumes with a durable consumer named by the group, without changing the stream, from its first message', async () => {
    const endpoint = subject('durable');
    await jetStreamProducer(endpoint)({ orderId: 'before-start' });
    const seen: string[] = [];
    const service = createService({ name: `durable-${Date.now()}`, transport: transport(), handleSignals: false });
    service.consumeEndpoint({ endpoint, group: 'billing' }, (payload) => void seen.push(JSON.stringify(payload)));
    const jsm = await jetstreamManager(admin);
    const before = await jsm.streams.info(foreignStream);
    try {
      await service.start();
      await waitFor(
        () => seen.length === 1,
        () => `seen ${seen}`,
      );
      expect(seen).toEqual(['{"orderId":"before-start"}']);
      const info = await jsm.consumers.info(foreignStream, 'sy_ep_billing');
      expect(info.config.filter_subject).toBe(endpoint);
      expect(info.config.ack_policy).toBe('explicit');
      const after = await jsm.streams.info(foreignStream);
      expect(after.config.subjects).toEqual(before.config.subjects);
      expect(after.config.retention).toBe(before.config.retention);
    } finally {
      await service.stop();
    }
  });

  it('start rejects with SY_CONFIGURATION when no stream captures the subject', async () => {
    const service = createService({ name: `missing-${Date.now()}`, transport: transport(), handleSignals: false });
    service.consumeEndpoint({ endpoint: `${prefix}.nobody.owns.this` }, () => undefined);
    await expect(service.start()).rejects.toMatchObject({
      code: ErrorCode.Configuration,
      message: expect.stringContaining('no JetStream stream captures'),
    });
  });
});

describe.runIf(reachable)('message consumer of a plain core-NATS subject (core:<subject>, at most once)', () => {
  it('runs the same pipeline: delayed retries through the service inbox, poison message dead-lettered', async () => {
    const endpoint = `core:${prefix}.plain.${Math.random().toString(36).slice(2, 8)}`;
    const convert = `core:${prefix}.plain.${Math.random().toString(36).slice(2, 8)}`;
    const produce = (to: string) => async (payload: unknown) => {
      const h = natsHeaders();
      h.set('content-type', 'application/json');
      admin.publish(to.slice('core:'.length), JSON.stringify(payload), { headers: h });
      await admin.flush();
    };
    await messageConsumerScenario({
      transport,
      service: `core-consumer-${Math.random().toString(36).slice(2, 8)}`,
      endpoint,
      produce: produce(endpoint),
      convertEndpoint: { endpoint: convert, produce: produce(convert) },
    });
  });
});

describe.runIf(reachable)('message publisher to a foreign subject (MessagePublisher)', () => {
  it('publishes raw messages with the stream acknowledging each: caller headers, content type, Nats-Msg-Id = id', async () => {
    const t = transport();
    const to = subject('published');
    const jsm = await jetstreamManager(admin);
    await messagePublisherScenario(
      t,
      to,
      async (count) => {
        const reads: RawRead[] = [];
        const info = await jsm.streams.info(foreignStream, { subjects_filter: to });
        expect(info.state.subjects?.[to]).toBe(count);
        for (let seq = info.state.first_seq; reads.length < count && seq <= info.state.last_seq; seq++) {
          const stored = await jsm.streams.getMessage(foreignStream, { seq }).catch(() => null);
          if (!stored || stored.subject !== to) continue;
          const headers: Record<string, string> = {};
          for (const name of stored.header.keys()) headers[name] = stored.header.get(name);
          reads.push({ body: decoder.decode(stored.data), headers });
        }
        return reads;
      },
      { key: false, routingKey: false },
    );
    // The caller's id is the Nats-Msg-Id: the same id again within the stream's window is stored once.
    const publisher = new MessagePublisher(t);
    await publisher.publish(to, { payload: { again: true }, id: 'raw-1' });
    const info = await jsm.streams.info(foreignStream, { subjects_filter: to });
    expect(info.state.subjects?.[to]).toBe(2);
    await expect(publisher.publish(`${prefix}.nobody.owns.this`, { payload: 1 })).rejects.toMatchObject({
      code: ErrorCode.Configuration,
    });
    await expect(publisher.publish(`${prefix}.legacy.*`, { payload: 1 })).rejects.toMatchObject({
      code: ErrorCode.Configuration,
    });
  });

  it('core:<subject> publishes plain core NATS, resolved once the server processed them', async () => {
    const t = transport();
    const to = `${prefix}.plain.out.${Math.random().toString(36).slice(2, 8)}`;
    const received: RawRead[] = [];
    const sub = admin.subscribe(to, {
      callback: (_error, msg) => {
        const headers: Record<string, string> = {};
        for (const name of msg.headers?.keys() ?? []) headers[name] = msg.headers?.get(name) ?? '';
        received.push({ body: decoder.decode(msg.data), headers });
      },
    });
    await admin.flush();
    try {
      await messagePublisherScenario(
        t,
        `core:${to}`,
        async (count) => {
          await waitFor(
            () => received.length === count,
            () => `received ${received.length}/${count}`,
          );
          return received;
        },
        { key: false, routingKey: false },
      );
    } finally {
      sub.unsubscribe();
    }
  });
});
