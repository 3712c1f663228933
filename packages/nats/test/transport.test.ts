import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Delivery } from '@switchyard/core/transport';
import { brokerReachable, collect, TcpProxy, testEvent, testMessage, waitFor } from '@switchyard/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fromNats, rawHeaderBlock } from '../src/codec.js';
import { NatsTransport } from '../src/index.js';
import { adminConnection, deleteStreams, NATS_ADDRESS, NATS_URL, probeNats, uniquePrefix } from './helpers.js';

const prefix = uniquePrefix('tr');
const reachable = await brokerReachable(`NATS at ${NATS_URL}`, probeNats);
const opened: NatsTransport[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

function transport(options: Partial<ConstructorParameters<typeof NatsTransport>[0]> = {}): NatsTransport {
  const made = new NatsTransport({ url: NATS_URL, prefix, ackWaitMs: 2_000, ...options });
  opened.push(made);
  return made;
}

const ns = () => `ns${randomBytes(3).toString('hex')}`;
const channelName = (label: string) => `${label}-${randomBytes(3).toString('hex')}`;

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
  await Promise.allSettled(opened.splice(0).map((t) => t.close()));
});

afterAll(async () => {
  if (reachable) await deleteStreams(prefix);
});

describe.runIf(reachable)('nats transport', () => {
  it("reads a delivery's headers from the client's raw bytes, the same as the client's own parse", async () => {
    const t = transport();
    const channel = channelName('raw');
    const message = testMessage({ headers: { tenantId: 'acme', 'ce-subject': 'caf\u00e9 x' } });
    await t.send(channel, [message]);
    const nc = await adminConnection();
    cleanups.push(() => nc.close());
    const consumer = await jetstream(nc).consumers.get(prefix, `c_${channel}`);
    const msg = await consumer.next({ expires: 5_000 });
    const block = msg ? rawHeaderBlock(msg) : undefined;
    // Undefined would mean the client's message shape changed and every delivery falls back to msg.headers.
    expect(block).toBeInstanceOf(Uint8Array);
    expect(fromNats(block, msg?.data ?? new Uint8Array())).toEqual(
      fromNats(msg?.headers, msg?.data ?? new Uint8Array()),
    );
    expect(fromNats(block, msg?.data ?? new Uint8Array()).headers).toMatchObject(message.headers);
    msg?.nak();
  });

  it("maps '#' so that it also matches zero segments ('x.#' gets event 'x'), which NATS '>' alone would miss", async () => {
    const t = transport();
    const n = ns();
    const channel = channelName('hash');
    await t.provision({ channels: [{ name: channel, subscriptions: [`${n}.order.#`] }] });
    const inbox = await collect(t, channel);
    cleanups.push(() => inbox.close());
    const wanted = [testEvent(`${n}.order`), testEvent(`${n}.order.placed`), testEvent(`${n}.order.item.added`)];
    const unwanted = [testEvent(`${n}.orders`), testEvent(`${n}.payment.placed`), testEvent(`${n}`)];
    await t.publish([...unwanted, ...wanted]);
    await inbox.waitForIds(wanted.map((e) => e.id));
    const barrier = testEvent(`${n}.order.barrier`);
    await t.publish([barrier]);
    await inbox.waitForIds([barrier.id]);
    expect(inbox.ids.sort()).toEqual([...wanted, barrier].map((e) => e.id).sort());
  });

  it('uses one filter subject per consumer (nats-server 2.9) and narrows what it admits beyond the patterns', async () => {
    const t = transport();
    const n = ns();
    const channel = channelName('cover');
    await t.provision({ channels: [{ name: channel, subscriptions: [`${n}.a.x`, `${n}.b.y`] }] });
    const nc = await adminConnection();
    cleanups.push(() => nc.close());
    const info = await (await jetstreamManager(nc)).consumers.info(prefix, `e_${channel}`);
    expect(info.config.filter_subject).toBe(`${prefix}.ev.${n}.*.*`);
    const inbox = await collect(t, channel);
    cleanups.push(() => inbox.close());
    const wanted = [testEvent(`${n}.a.x`), testEvent(`${n}.b.y`)];
    await t.publish([testEvent(`${n}.a.y`), testEvent(`${n}.b.x`), ...wanted]);
    await inbox.waitForIds(wanted.map((e) => e.id));
    const barrier = testEvent(`${n}.b.y`);
    await t.publish([barrier]);
    await inbox.waitForIds([barrier.id]);
    expect(inbox.ids.sort()).toEqual([...wanted, barrier].map((e) => e.id).sort());
  });

  it('a consumer sees subscriptions another process added without waiting for its refresh', async () => {
    const consumerSide = transport({ refreshMs: 600_000 });
    const other = transport();
    const n = ns();
    const channel = channelName('widen');
    await consumerSide.provision({ channels: [{ name: channel, subscriptions: [`${n}.a.*`] }] });
    const inbox = await collect(consumerSide, channel);
    cleanups.push(() => inbox.close());
    await other.provision({ channels: [{ name: channel, subscriptions: [`${n}.a.*`, `${n}.b.*`] }] });
    const added = testEvent(`${n}.b.1`);
    await other.publish([added]);
    await inbox.waitForIds([added.id]);
  });

  it('keeps a message whose handler outlasts the ack wait (in-progress heartbeats), delivered once', async () => {
    const a = transport({ ackWaitMs: 1_000 });
    const b = transport({ ackWaitMs: 1_000 });
    const channel = channelName('slow');
    await a.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const slow = testMessage();
    const deliveries: Delivery[] = [];
    let slowAcked = false;
    const slowHandler = async (delivery: Delivery) => {
      deliveries.push(delivery);
      if (delivery.message.id !== slow.id) return delivery.ack();
      // The handler itself takes three and a half ack waits.
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      await delivery.ack();
      slowAcked = true;
    };
    const first = await a.consume(channel, slowHandler, { concurrency: 2 });
    await a.send(channel, [slow]);
    await waitFor(() => deliveries.length === 1, 'the slow message');
    const second = await b.consume(channel, slowHandler, { concurrency: 2 });
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    await waitFor(() => slowAcked, 'the slow handler to ack', 10_000);
    // A barrier sent afterwards proves both consumers are live: a redelivery would have come before it.
    const barrier = testMessage();
    await a.send(channel, [barrier]);
    await waitFor(() => deliveries.some((d) => d.message.id === barrier.id), 'the barrier', 10_000);
    expect(deliveries.filter((d) => d.message.id === slow.id).map((d) => d.deliveryCount)).toEqual([1]);
  });

  it("reports JetStream's delivery count: 1, 2, 3 for a message nacked twice", async () => {
    const t = transport();
    const channel = channelName('count');
    const counts: number[] = [];
    const sub = await t.consume(channel, async (delivery) => {
      counts.push(delivery.deliveryCount);
      if (counts.length < 3) await delivery.nack();
      else await delivery.ack();
    });
    cleanups.push(() => sub.close());
    await t.send(channel, [testMessage()]);
    await waitFor(() => counts.length === 3, 'three deliveries');
    expect(counts).toEqual([1, 2, 3]);
  });

  it('re-publishes a message whose acknowledgement was lost with the same Nats-Msg-Id: stored once', async () => {
    const proxy = await TcpProxy.start(NATS_ADDRESS);
    cleanups.push(() => proxy.close());
    const sender = transport({ url: `nats://${proxy.address}`, publishAckTimeoutMs: 1_000 });
    const channel = channelName('dedup');
    await sender.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const message = testMessage();
    // The PubAck names the stream: lose the first one, after the server stored the message.
    proxy.loseNextReply(`"stream":"${prefix}"`);
    await sender.send(channel, [message]);
    expect(proxy.repliesLost).toBe(1);
    const reader = transport();
    const inbox = await collect(reader, channel);
    cleanups.push(() => inbox.close());
    const barrier = testMessage();
    await reader.send(channel, [barrier]);
    await inbox.waitForIds([message.id, barrier.id]);
    expect(inbox.countOf(message.id)).toBe(1);
    const nc = await adminConnection();
    cleanups.push(() => nc.close());
    const info = await (await jetstreamManager(nc)).consumers.info(prefix, `c_${channel}`);
    expect(info.delivered.stream_seq - info.ack_floor.stream_seq).toBe(0);
  });

  it("re-creates a channel's consumer that was deleted behind its back and carries on", async () => {
    const t = transport({ pullExpiresMs: 1_000 });
    const channel = channelName('deleted');
    const inbox = await collect(t, channel);
    cleanups.push(() => inbox.close());
    const first = testMessage();
    await t.send(channel, [first]);
    await inbox.waitForIds([first.id]);
    const nc = await adminConnection();
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    await jsm.consumers.delete(prefix, `c_${channel}`);
    // The pull loop finds it gone and declares it again.
    let back = false;
    for (const deadline = Date.now() + 15_000; !back && Date.now() < deadline; ) {
      back = await jsm.consumers.info(prefix, `c_${channel}`).then(
        () => true,
        () => false,
      );
      if (!back) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(back, 'consumer declared again').toBe(true);
    const second = testMessage();
    await t.send(channel, [second]);
    await inbox.waitForIds([second.id]);
  });

  it('after close, send, publish, consume and provision reject with SY_CLOSED', async () => {
    const t = transport();
    await t.close();
    await expect(t.send('x', [testMessage()])).rejects.toMatchObject({ code: 'SY_CLOSED' });
    await expect(t.publish([testEvent('a.b')])).rejects.toMatchObject({ code: 'SY_CLOSED' });
    await expect(t.consume('x', async () => {})).rejects.toMatchObject({ code: 'SY_CLOSED' });
    await expect(t.provision({ channels: [] })).rejects.toMatchObject({ code: 'SY_CLOSED' });
  });

  it('rejects an event whose routing key is no valid subject with SY_SEND_FAILED', async () => {
    const t = transport();
    await expect(t.publish([testEvent('order..placed')])).rejects.toMatchObject({ code: 'SY_SEND_FAILED' });
    await expect(t.publish([testEvent('order.>')])).rejects.toMatchObject({ code: 'SY_SEND_FAILED' });
  });

  it('rejects a send it cannot deliver within sendTimeoutMs with SY_SEND_FAILED', async () => {
    const t = transport({ url: 'nats://127.0.0.1:1', sendTimeoutMs: 300, publishAckTimeoutMs: 200 });
    await expect(t.send('x', [testMessage()])).rejects.toMatchObject({ code: 'SY_SEND_FAILED' });
  });
});
