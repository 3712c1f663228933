import { withTimeout } from '@switchyard/core/transport';
import { waitFor } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteTransport } from '../src/index.js';
import { startConsumer } from './child.js';
import { channelName, msg, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('SqliteTransport across processes', () => {
  it('a consumer in another process receives every message once', async () => {
    const path = tmp.file();
    const ch = channelName();
    const producer = new SqliteTransport({ path });
    await producer.ping();
    const child = startConsumer(path, ch, 30_000);
    try {
      await withTimeout(child.ready, 20_000, 'child ready');
      const messages = Array.from({ length: 500 }, (_, i) => msg(i));
      for (let i = 0; i < messages.length; i += 50) await producer.send(ch, messages.slice(i, i + 50));
      await waitFor(() => child.handled.length >= 500, '500 handled by the child', 20_000);
      expect(new Set(child.handled.map((h) => h.id)).size).toBe(500);
      // Latency of one message to an idle consumer in another process (WAL watch, else poll):
      // each sample after 80 ms of quiet, so the consumer's poll interval has backed off to its maximum.
      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 80));
        const before = child.handled.length;
        const started = Date.now();
        await producer.send(ch, [msg(`idle-${i}`)]);
        await waitFor(() => child.handled.length === before + 1, 'one more', 5_000, 1);
        latencies.push(Date.now() - started);
      }
      console.log(`[sqlite] cross-process latency to an idle consumer, 5 samples: ${latencies.join(', ')} ms`);
    } finally {
      child.process.kill('SIGTERM');
      await child.exited;
      await producer.close();
    }
  });

  it("a crashed consumer's leased messages come back after the lease, with a higher delivery count", async () => {
    const path = tmp.file();
    const ch = channelName();
    const t = new SqliteTransport({ path, leaseMs: 300 });
    const m = msg(1);
    await t.send(ch, [m]);
    // Play a consumer that claimed the message and died: its lease is set, nobody renews it.
    const raw = new Database(path);
    raw
      .prepare("UPDATE sy_messages SET visible_at = ?, lease_owner = 'dead', delivery_count = 1 WHERE channel = ?")
      .run(Date.now() + 300, ch);
    raw.close();
    const got: Array<{ id: string; count: number; at: number }> = [];
    const start = Date.now();
    await t.consume(ch, async (d) => {
      got.push({ id: d.message.id, count: d.deliveryCount, at: Date.now() });
      await d.ack();
    });
    await waitFor(() => got.length === 1, 'redelivery after lease expiry');
    expect(got[0]).toMatchObject({ id: m.id, count: 2 });
    expect(got[0]!.at - start).toBeGreaterThanOrEqual(250);
    await t.close();
  });

  it("waits for another connection's write lock without blocking the event loop, and delivers", async () => {
    const path = tmp.file();
    const ch = channelName();
    const t = new SqliteTransport({ path });
    await t.ping();
    const got: string[] = [];
    await t.consume(ch, async (d) => {
      got.push(d.message.id);
      await d.ack();
    });
    const locker = new Database(path, { timeout: 5_000 });
    locker.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const m = msg(1);
    let sent = false;
    const sending = t.send(ch, [m]).then(() => {
      sent = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sent).toBe(false);
    // The event loop kept running while the send waited for the lock.
    expect(ticks).toBeGreaterThan(2);
    locker.exec('COMMIT');
    locker.close();
    await sending;
    clearInterval(ticker);
    await waitFor(() => got.length === 1, 'delivery after the lock was released');
    expect(got).toEqual([m.id]);
    await t.close();
  });

  it('a send that cannot get the lock within busyTimeoutMs rejects with SY_SEND_FAILED', async () => {
    const path = tmp.file();
    const t = new SqliteTransport({ path, busyTimeoutMs: 100 });
    await t.ping();
    const locker = new Database(path);
    locker.exec('BEGIN IMMEDIATE');
    try {
      await expect(t.send(channelName(), [msg(1)])).rejects.toMatchObject({ code: 'SY_SEND_FAILED' });
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
      await t.close();
    }
  });

  it('a live consumer renews its lease: a slow handler is not redelivered elsewhere', async () => {
    const path = tmp.file();
    const ch = channelName();
    // Renewed every third of the lease: only an event loop stalled for the whole lease would lose it.
    const slow = new SqliteTransport({ path, leaseMs: 400 });
    const other = new SqliteTransport({ path, leaseMs: 400 });
    await slow.send(ch, [msg(1)]);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let slowGot = 0;
    await slow.consume(ch, async (d) => {
      slowGot++;
      await held;
      await d.ack();
    });
    await waitFor(() => slowGot === 1, 'slow consumer got it');
    let otherGot = 0;
    await other.consume(ch, async (d) => {
      otherGot++;
      await d.ack();
    });
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(otherGot).toBe(0);
    release();
    await slow.close();
    await other.close();
    expect(slowGot).toBe(1);
  });
});
