import { type Delivery, ErrorCode, type TransportMessage } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RedisStreamsTransport, type RedisStreamsTransportOptions } from '../src/index.js';
import { adminConnection, deleteKeys, message, probeRedis, REDIS_URL, uniqueName, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`Redis at ${REDIS_URL}`, probeRedis);
const admin = adminConnection();
const prefixes: string[] = [];
const open: RedisStreamsTransport[] = [];

function transport(prefix: string, options: RedisStreamsTransportOptions = {}): RedisStreamsTransport {
  const t = new RedisStreamsTransport({ url: REDIS_URL, prefix, blockMs: 300, ...options });
  open.push(t);
  return t;
}

function fresh(label: string): string {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  return prefix;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(admin, prefix).catch(() => {});
  admin.disconnect();
});

const text = (m: TransportMessage) => new TextDecoder().decode(m.body);

describe.runIf(reachable)('redis streams transport', () => {
  it('carries id, headers, binary body, key and deliverAt; ack deletes the entry from the stream', async () => {
    const prefix = fresh('roundtrip');
    const t = transport(prefix);
    const channel = uniqueName('rt');
    const body = new Uint8Array([0, 1, 2, 255, 254, 10, 13, 0]);
    const sent: TransportMessage = {
      id: 'm-1',
      headers: { 'ce-id': 'm-1', 'ce-type': 'a.b', 'content-type': 'application/json', 'ce-x': 'ü "quoted"' },
      body,
      key: 'k-1',
      deliverAt: Date.now() - 1,
    };
    const got: Delivery[] = [];
    let acked: Promise<void> | undefined;
    await t.consume(channel, async (d) => {
      got.push(d);
      acked = d.ack();
      await acked;
    });
    await t.send(channel, [sent]);
    await waitFor(() => acked !== undefined, 'the delivery');
    await acked;
    const d = got[0]!;
    expect(d.message.id).toBe('m-1');
    expect(d.message.headers).toEqual(sent.headers);
    expect(Array.from(d.message.body)).toEqual(Array.from(body));
    expect(d.message.key).toBe('k-1');
    expect(d.message.deliverAt).toBe(Math.trunc(sent.deliverAt!));
    expect(d.deliveryCount).toBe(1);
    expect(d.channel).toBe(channel);
    // Trimming policy: an acked entry leaves the stream and the pending list at once.
    expect(await admin.xlen(`${prefix}:ch:${channel}`)).toBe(0);
    const pending = (await admin.xpending(`${prefix}:ch:${channel}`, 'switchyard')) as [number];
    expect(pending[0]).toBe(0);
  });

  it('publish fans out by AMQP pattern; provision replaces a channel pattern set; other processes see changes', async () => {
    const prefix = fresh('fanout');
    const a = uniqueName('a');
    const b = uniqueName('b');
    const c = uniqueName('c');
    const publisher = transport(prefix);
    const other = transport(prefix);
    await other.provision({
      channels: [
        { name: a, subscriptions: ['order.*'] },
        { name: b, subscriptions: ['order.#'] },
      ],
    });
    const got: Record<string, string[]> = { [a]: [], [b]: [], [c]: [] };
    for (const ch of [a, b, c]) {
      await other.consume(ch, async (d) => {
        got[ch]!.push(d.message.id);
        await d.ack();
      });
    }
    const ev = (id: string, routingKey: string) => ({ ...message(id), routingKey });
    await publisher.publish([
      ev('e1', 'order.placed'),
      ev('e2', 'order.placed.eu'),
      ev('e3', 'payment.done'),
      ev('e4', 'order'),
    ]);
    await waitFor(() => got[a]!.length === 1 && got[b]!.length === 3, 'first fan-out');
    expect(got[a]).toEqual(['e1']);
    expect(got[b]!.sort()).toEqual(['e1', 'e2', 'e4']);
    // Another process changes the registry; this publisher's cached copy is stale and must be refreshed atomically.
    await other.provision({
      channels: [
        { name: a, subscriptions: ['payment.*'] },
        { name: c, subscriptions: ['#'] },
      ],
    });
    await publisher.publish([ev('e5', 'order.placed'), ev('e6', 'payment.done')]);
    await waitFor(() => got[c]!.length === 2 && got[b]!.length === 4 && got[a]!.length === 2, 'second fan-out');
    expect(got[a]).toEqual(['e1', 'e6']);
    expect(got[b]!.slice(3)).toEqual(['e5']);
    expect(got[c]!.sort()).toEqual(['e5', 'e6']);
    await expect(other.provision({ channels: [{ name: a, subscriptions: ['bad pattern'] }] })).rejects.toMatchObject({
      code: ErrorCode.Configuration,
    });
  });

  it('nack redelivers with an honest deliveryCount; nack with delay waits on the broker', async () => {
    const t = transport(fresh('nack'));
    const channel = uniqueName('n');
    const seen: Array<{ count: number; at: number }> = [];
    const start = Date.now();
    await t.consume(channel, async (d) => {
      seen.push({ count: d.deliveryCount, at: Date.now() - start });
      if (d.deliveryCount === 1) await d.nack();
      else if (d.deliveryCount === 2) await d.nack({ delayMs: 400 });
      else await d.ack();
    });
    await t.send(channel, [message('x')]);
    await waitFor(() => seen.length === 3, 'three deliveries');
    expect(seen.map((s) => s.count)).toEqual([1, 2, 3]);
    expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(380);
  });

  it('holds a future deliverAt in the delay set until due', async () => {
    const prefix = fresh('delay');
    const t = transport(prefix);
    const channel = uniqueName('d');
    const due = Date.now() + 500;
    const got: Array<{ id: string; at: number }> = [];
    await t.consume(channel, async (d) => {
      got.push({ id: d.message.id, at: Date.now() });
      await d.ack();
    });
    await t.send(channel, [message('later', {}, { deliverAt: due }), message('now')]);
    expect(await admin.zcard(`${prefix}:delay:${channel}`)).toBe(1);
    await waitFor(() => got.length === 2, 'both messages');
    expect(got[0]!.id).toBe('now');
    expect(got[1]!.at).toBeGreaterThanOrEqual(due - 20);
    expect(await admin.zcard(`${prefix}:delay:${channel}`)).toBe(0);
  });

  it('reclaims the deliveries of a consumer that died, after the lease, with deliveryCount 2', async () => {
    const prefix = fresh('reclaim');
    const t = transport(prefix, { leaseMs: 300 });
    const channel = uniqueName('r');
    await t.provision({ channels: [{ name: channel, subscriptions: [] }] });
    await t.send(channel, [message('orphan')]);
    // A consumer that reads and then vanishes without acking.
    await admin.xreadgroup(
      'GROUP',
      'switchyard',
      'dead-consumer',
      'COUNT',
      10,
      'STREAMS',
      `${prefix}:ch:${channel}`,
      '>',
    );
    const got: Delivery[] = [];
    const start = Date.now();
    await t.consume(channel, async (d) => {
      got.push(d);
      await d.ack();
    });
    await waitFor(() => got.length === 1, 'the reclaimed delivery');
    expect(Date.now() - start).toBeGreaterThanOrEqual(150);
    expect(got[0]!.message.id).toBe('orphan');
    expect(got[0]!.deliveryCount).toBe(2);
  });

  it('does not reclaim a slow handler of a live consumer: its lease is renewed', async () => {
    const prefix = fresh('renew');
    const channel = uniqueName('s');
    const deliveries: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handler = async (d: Delivery) => {
      deliveries.push(d.message.id);
      await held;
      await d.ack();
    };
    const first = transport(prefix, { leaseMs: 200 });
    const second = transport(prefix, { leaseMs: 200 });
    await first.consume(channel, handler);
    await second.consume(channel, handler);
    await first.send(channel, [message('slow')]);
    await waitFor(() => deliveries.length === 1, 'first delivery');
    // Three leases pass while the handler works; the other consumer must not get it.
    const until = Date.now() + 700;
    await waitFor(() => Date.now() > until, 'three leases');
    release();
    expect(deliveries).toEqual(['slow']);
  });

  it('an unsettled delivery is released when its subscription closes and reaches the next consumer', async () => {
    const prefix = fresh('release');
    const t = transport(prefix);
    const channel = uniqueName('u');
    const first: string[] = [];
    const sub = await t.consume(channel, async (d) => {
      first.push(d.message.id);
    });
    await t.send(channel, [message('u1')]);
    await waitFor(() => first.length === 1, 'first delivery');
    await sub.close();
    await sub.close();
    const second: Delivery[] = [];
    await t.consume(channel, async (d) => {
      second.push(d);
      await d.ack();
    });
    await waitFor(() => second.length === 1, 'redelivery');
    expect(second[0]!.deliveryCount).toBe(2);
    // The closed consumer held nothing any more, so it was removed from the group; the live one remains.
    const consumers = (await admin.call('XINFO', 'CONSUMERS', `${prefix}:ch:${channel}`, 'switchyard')) as unknown[][];
    expect(consumers).toHaveLength(1);
  });

  it('delivers a foreign, malformed entry instead of crashing the consumer', async () => {
    const prefix = fresh('foreign');
    const t = transport(prefix);
    const channel = uniqueName('f');
    await t.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const entryId = await admin.xadd(`${prefix}:ch:${channel}`, '*', 'h', '{not json', 'other', 'x');
    const got: Delivery[] = [];
    await t.consume(channel, async (d) => {
      got.push(d);
      await d.ack();
    });
    await t.send(channel, [message('ok')]);
    await waitFor(() => got.length === 2, 'both entries');
    expect(got[0]!.message.id).toBe(entryId);
    expect(got[0]!.message.headers).toEqual({});
    expect(text(got[1]!.message)).toBe('{"id":"ok"}');
  });

  it('wraps driver errors: an unreachable server gives SY_TRANSPORT_UNAVAILABLE / SY_SEND_FAILED', async () => {
    const t = transport(fresh('down'), {
      url: 'redis://127.0.0.1:1',
      redis: { maxRetriesPerRequest: 0, retryStrategy: () => null },
    });
    await expect(t.ping()).rejects.toMatchObject({ name: 'TransportError', code: ErrorCode.TransportUnavailable });
    await expect(t.send('x', [message('a')])).rejects.toMatchObject({ code: ErrorCode.SendFailed });
  });
});
