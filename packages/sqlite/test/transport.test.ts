import { ConfigurationError, type Delivery, ErrorCode, TransportError } from '@switchyard/core/transport';
import { waitFor } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSqliteUrl, SqliteTransport, transportFromUrl } from '../src/index.js';
import { bodyN, channelName, msg, routed, sharedFileTransports, tempDir } from './helpers.js';

const tmp = tempDir();
const transport = sharedFileTransports(tmp);
afterAll(() => tmp.cleanup());

describe('SqliteTransport', () => {
  it('delivers sent messages in order with headers, body and key intact', async () => {
    const t = transport();
    const channel = channelName();
    const sent = [msg(1), msg(2, { key: 'k' }), msg(3)];
    await t.send(channel, sent);
    const got: Delivery[] = [];
    await t.consume(channel, async (d) => {
      got.push(d);
      await d.ack();
    });
    await waitFor(() => got.length === 3, '3 deliveries');
    expect(got.map((d) => d.message.id)).toEqual(sent.map((m) => m.id));
    expect(got[0]!.message.headers).toEqual(sent[0]!.headers);
    expect(bodyN(got[1]!.message.body)).toBe(2);
    expect(got[1]!.message.key).toBe('k');
    expect(got[0]!.channel).toBe(channel);
    expect(got[0]!.deliveryCount).toBe(1);
  });

  it('fans published events out to every channel whose patterns match, once per channel', async () => {
    const t = transport();
    const [a, b, c] = [channelName('a'), channelName('b'), channelName('c')];
    await t.provision({
      channels: [
        { name: a, subscriptions: ['order.*', 'order.placed'] },
        { name: b, subscriptions: ['#'] },
        { name: c, subscriptions: ['shipment.#'] },
      ],
    });
    const seen: Record<string, string[]> = { [a]: [], [b]: [], [c]: [] };
    for (const ch of [a, b, c]) {
      await t.consume(ch, async (d) => {
        seen[ch]!.push(d.message.id);
        await d.ack();
      });
    }
    const placed = routed('order.placed', 1);
    const shipped = routed('shipment.sent.today', 2);
    await t.publish([placed, shipped]);
    await waitFor(() => seen[a]!.length + seen[b]!.length + seen[c]!.length === 4, 'fan-out');
    expect(seen[a]).toEqual([placed.id]);
    expect(seen[b]).toEqual([placed.id, shipped.id]);
    expect(seen[c]).toEqual([shipped.id]);
  });

  it('provision makes subscriptions exactly the listed ones, seen by another transport at once', async () => {
    const publisher = transport();
    const admin = transport();
    const ch = channelName();
    await admin.provision({ channels: [{ name: ch, subscriptions: ['a.b'] }] });
    await publisher.publish([routed('a.b', 1)]);
    await admin.provision({ channels: [{ name: ch, subscriptions: ['x.y'] }] });
    await publisher.publish([routed('a.b', 2), routed('x.y', 3)]);
    const got: Array<number | string> = [];
    await admin.consume(ch, async (d) => {
      got.push(bodyN(d.message.body));
      await d.ack();
    });
    await waitFor(() => got.length === 2, 'two events');
    expect(got).toEqual([1, 3]);
  });

  it('redelivers a nacked message with a higher delivery count, after the nack delay', async () => {
    const t = transport();
    const ch = channelName();
    await t.send(ch, [msg(1)]);
    const got: Array<{ count: number; at: number }> = [];
    await t.consume(ch, async (d) => {
      got.push({ count: d.deliveryCount, at: Date.now() });
      if (got.length === 1) await d.nack({ delayMs: 300 });
      else await d.ack();
    });
    await waitFor(() => got.length === 2, 'redelivery');
    expect(got.map((g) => g.count)).toEqual([1, 2]);
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(280);
  });

  it('a handler that rejects gets its delivery nacked and redelivered', async () => {
    const t = transport();
    const ch = channelName();
    await t.send(ch, [msg(1)]);
    let calls = 0;
    let acked = false;
    await t.consume(ch, async (d) => {
      calls++;
      if (calls === 1) throw new Error('boom');
      await d.ack();
      acked = true;
    });
    await waitFor(() => acked, 'ack after a failed first attempt');
    expect(calls).toBe(2);
  });

  it('with durableAck, ack resolves after the delete committed', async () => {
    const t = transport({ durableAck: true });
    const ch = channelName();
    await t.send(ch, [msg(1)]);
    const reader = new Database(tmp.file('shared.db'), { readonly: true });
    let left: unknown = -1;
    await t.consume(ch, async (d) => {
      await d.ack();
      left = reader.prepare('SELECT count(*) FROM sy_messages WHERE channel = ?').pluck().get(ch);
    });
    await waitFor(() => left !== -1, 'durable ack');
    reader.close();
    expect(left).toBe(0);
  });

  it('a failing send in a group commit fails alone; the others of the same turn commit', async () => {
    const t = transport();
    const ch = channelName();
    const good = [msg(1), msg(2)];
    // Passes the checks before the transaction, then throws inside it (BigInt in Math.floor).
    const bad = { ...msg(3), deliverAt: (10n ** 20n) as unknown as number };
    const results = await Promise.allSettled([t.send(ch, [good[0]!]), t.send(ch, [bad]), t.send(ch, [good[1]!])]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: ErrorCode.SendFailed });
    const got: string[] = [];
    await t.consume(ch, async (d) => {
      got.push(d.message.id);
      await d.ack();
    });
    await waitFor(() => got.length === 2, 'the two good messages');
    expect(got).toEqual(good.map((m) => m.id));
  });

  it('rejects a body that is not bytes', async () => {
    const t = transport();
    const bad = { ...msg(1), body: 'text' as unknown as Uint8Array };
    await expect(t.send(channelName(), [bad])).rejects.toMatchObject({ code: ErrorCode.SendFailed });
  });

  it('ack and nack are idempotent and mutually exclusive', async () => {
    const t = transport();
    const ch = channelName();
    await t.send(ch, [msg(1)]);
    let count = 0;
    await t.consume(ch, async (d) => {
      count++;
      await Promise.all([d.ack(), d.nack(), d.ack()]);
      await d.nack();
    });
    await waitFor(() => count === 1, 'one delivery');
    const more = new Promise((r) => setTimeout(r, 150));
    await more;
    expect(count).toBe(1);
  });

  it('rejects oversize messages with SY_TOO_LARGE and sends after close with SY_CLOSED', async () => {
    const t = transport({ maxMessageBytes: 100 });
    const big = msg(1, { body: new Uint8Array(200) });
    await expect(t.send(channelName(), [big])).rejects.toMatchObject({ code: ErrorCode.TooLarge });
    await t.close();
    await t.close();
    await expect(t.send(channelName(), [msg(2)])).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(t.publish([routed('a', 1)])).rejects.toBeInstanceOf(TransportError);
  });

  it('close releases unsettled deliveries for another consumer', async () => {
    const first = transport();
    const second = transport();
    const ch = channelName();
    await first.send(ch, [msg(1), msg(2)]);
    let held = 0;
    const sub = await first.consume(ch, async () => {
      held++;
    });
    await waitFor(() => held === 1, 'first consumer holds one');
    await sub.close({ drainTimeoutMs: 50 });
    const got: number[] = [];
    await second.consume(ch, async (d) => {
      got.push(d.deliveryCount);
      await d.ack();
    });
    await waitFor(() => got.length === 2, 'both come back');
    expect(got.sort()).toEqual([1, 2]);
  });

  it('ping answers; capabilities describe a durable, native-delay transport', async () => {
    const t = transport();
    await t.ping();
    expect(t.capabilities).toMatchObject({
      delayedDelivery: 'native',
      durable: true,
      reconnect: true,
      patternFiltering: 'server',
      orderingPerKey: true,
      maxMessageBytes: 16 * 1024 * 1024,
    });
  });

  it('bad options throw a ConfigurationError that says what to change', () => {
    expect(() => new SqliteTransport({ path: '' })).toThrow(ConfigurationError);
    expect(() => new SqliteTransport({ path: 'x.db', leaseMs: -1 })).toThrow(/leaseMs/);
    expect(() => new SqliteTransport({ path: 'x.db', pollIntervalMs: 1.5 })).toThrow(/pollIntervalMs/);
    expect(() => new SqliteTransport({ path: 'x.db', minPollIntervalMs: 100, pollIntervalMs: 10 })).toThrow(
      /minPollIntervalMs/,
    );
  });

  it('an unopenable file rejects with a TransportError', async () => {
    const t = transport({ path: '/proc/definitely/not/here.db' });
    await expect(t.send('c', [msg(1)])).rejects.toMatchObject({ code: ErrorCode.TransportUnavailable });
  });
});

describe('transportFromUrl', () => {
  it.each([
    ['sqlite:./data/app.db', './data/app.db'],
    ['sqlite:app.db', 'app.db'],
    ['sqlite:///var/lib/app.db', '/var/lib/app.db'],
    ['sqlite:/var/lib/app.db', '/var/lib/app.db'],
    ['sqlite://localhost/var/app.db', '/var/app.db'],
    ['sqlite://./rel.db', './rel.db'],
    ['sqlite::memory:', ':memory:'],
  ])('%s → %s', (url, path) => {
    expect(parseSqliteUrl(url).path).toBe(path);
  });

  it('reads options from the query string', () => {
    expect(parseSqliteUrl('sqlite:./a.db?leaseMs=5000&watch=false')).toEqual({
      path: './a.db',
      leaseMs: 5000,
      watch: false,
    });
  });

  it('rejects other schemes, hosts, empty paths and unknown options', () => {
    expect(() => transportFromUrl('amqp://x')).toThrow(ConfigurationError);
    expect(() => transportFromUrl('sqlite://db.example/x.db')).toThrow(/host/);
    expect(() => transportFromUrl('sqlite:')).toThrow(/no file path/);
    expect(() => transportFromUrl('sqlite:./a.db?nope=1')).toThrow(/unknown option 'nope'/);
    expect(() => transportFromUrl('sqlite:./a.db?leaseMs=abc')).toThrow(/leaseMs/);
  });

  it('builds a working in-memory transport', async () => {
    const t = transportFromUrl('sqlite::memory:');
    try {
      expect(t.capabilities.durable).toBe(false);
      const got: string[] = [];
      await t.consume('c', async (d) => {
        got.push(d.message.id);
        await d.ack();
      });
      const m = msg(1);
      await t.send('c', [m]);
      await waitFor(() => got.length === 1, 'in-memory delivery');
      expect(got).toEqual([m.id]);
    } finally {
      await t.close();
    }
  });
});
