import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createService, defineEvent } from '@switchyard/core';
import { MessageSpy } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SqliteInboxStore, SqliteOutboxStore } from '../src/index.js';
import { channelName, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const OrderPlaced = defineEvent('order.placed', z.object({ orderId: z.string() }));
const ORDERS = 200;
const child = fileURLToPath(new URL('./fixtures/outbox-child.ts', import.meta.url));

/** Run the child in `mode`; resolves with the signal it died of and what it printed. */
function crashChild(mode: string, path: string, service: string): Promise<{ signal: string | null; output: string }> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', child, mode, path, service, String(ORDERS)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    process_.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    process_.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    process_.on('error', reject);
    process_.on('exit', (_code, signal) => resolve({ signal, output }));
  });
}

describe('outbox across crashes', () => {
  it('loses nothing when the process dies between commit and forward, and the inbox removes a repeated forward', async () => {
    const path = tmp.file();
    const shopName = channelName('shop');
    const billingName = channelName('billing');
    const inbox = new SqliteInboxStore(path);
    const billed = new Database(path);
    billed.pragma('journal_mode = WAL');
    billed.exec('CREATE TABLE IF NOT EXISTS billed (order_id TEXT)');
    const billing = createService({
      name: billingName,
      transport: `sqlite:${path}`,
      inbox,
      handleSignals: false,
      concurrency: 4,
    });
    billing.handle(
      OrderPlaced,
      (event) => void billed.prepare('INSERT INTO billed (order_id) VALUES (?)').run(event.orderId),
      {
        distributed: true,
      },
    );
    const spy = new MessageSpy().watch(billing);
    await billing.start();
    const count = (sql: string) => billed.prepare(sql).pluck().get() as number;
    try {
      // 1. Committed, then killed before any forward: the orders and their events are all in the outbox.
      const write = await crashChild('write', path, shopName);
      expect(write.signal, write.output).toBe('SIGKILL');
      expect(count('SELECT count(*) FROM orders')).toBe(ORDERS);
      expect(count('SELECT count(*) FROM sy_outbox')).toBe(ORDERS);
      expect(spy.handled).toHaveLength(0);

      // 2. Forwarded and confirmed, then killed before the records were removed: they stay in the outbox.
      const forward = await crashChild('forward', path, shopName);
      expect(forward.signal, forward.output).toBe('SIGKILL');
      const firstBatch = Number(/forwarded (\d+)/.exec(forward.output)?.[1]);
      expect(firstBatch).toBeGreaterThan(0);
      await spy.until(() => spy.handled.length === firstBatch, 'the first forwarded batch handled', 20_000);
      const outboxAfterForwardCrash = count('SELECT count(*) FROM sy_outbox');
      expect(outboxAfterForwardCrash).toBe(ORDERS);

      // 3. The restarted relay forwards the same records again; the inbox suppresses every repeat.
      const outbox = new SqliteOutboxStore(path);
      const shop = createService({ name: shopName, transport: `sqlite:${path}`, outbox, handleSignals: false });
      const forwardedAgain = await shop.flushOutbox();
      await spy.until(
        () => spy.duplicates.length === firstBatch && spy.handled.length === ORDERS,
        'the rest handled and every repeated forward suppressed',
        20_000,
      );
      await billing.whenIdle();

      const distinct = count('SELECT count(DISTINCT order_id) FROM billed');
      const sideEffects = count('SELECT count(*) FROM billed');
      console.log(
        `[outbox crash test] orders=${ORDERS} first forward=${firstBatch} outbox after that crash=${outboxAfterForwardCrash} forwarded again=${forwardedAgain} handled=${spy.handled.length} duplicates suppressed=${spy.duplicates.length} billed rows=${sideEffects} distinct=${distinct} lost=${ORDERS - distinct}`,
      );
      expect(forwardedAgain).toBe(ORDERS);
      expect(distinct).toBe(ORDERS);
      expect(sideEffects).toBe(ORDERS);
      expect(count('SELECT count(*) FROM sy_outbox')).toBe(0);
      await shop.stop();
      await outbox.close();
    } finally {
      await billing.stop();
      await inbox.close();
      billed.close();
    }
  });
});
