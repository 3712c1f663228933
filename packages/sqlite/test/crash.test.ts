import { withTimeout } from '@switchyard/core/transport';
import { waitFor } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteTransport } from '../src/index.js';
import { startConsumer } from './child.js';
import { channelName, msg, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const TOTAL = 5_000;

describe('SqliteTransport crash safety', () => {
  it('loses nothing when a consumer process is SIGKILLed mid-stream', async () => {
    const path = tmp.file();
    const ch = channelName('crash');
    const producer = new SqliteTransport({ path });
    const ids = new Set<string>();
    for (let i = 0; i < TOTAL; i += 250) {
      const batch = Array.from({ length: 250 }, (_, j) => msg(i + j));
      for (const m of batch) ids.add(m.id);
      await producer.send(ch, batch);
    }

    const first = startConsumer(path, ch, 1_000, 8, 1);
    try {
      await withTimeout(first.ready, 20_000, 'first consumer ready');
      await waitFor(() => first.handled.length >= 1_500, 'first consumer mid-stream', 30_000);
    } finally {
      // The crash: no close, no release; its leased rows must come back by lease expiry.
      first.process.kill('SIGKILL');
      await first.exited;
    }
    const handledBeforeKill = first.handled.length;

    const second = startConsumer(path, ch, 1_000, 8, 0);
    try {
      await withTimeout(second.ready, 20_000, 'second consumer ready');
      const all = () => [...first.handled, ...second.handled];
      await waitFor(() => new Set(all().map((h) => h.id)).size >= TOTAL, 'every message handled', 60_000);
      const raw = new Database(path, { readonly: true });
      await waitFor(
        () => (raw.prepare('SELECT count(*) AS n FROM sy_messages WHERE channel = ?').get(ch) as { n: number }).n === 0,
        'channel empty',
        10_000,
      );
      raw.close();
      const handled = all();
      const distinct = new Set(handled.map((h) => h.id));
      const duplicates = handled.length - distinct.size;
      const redelivered = second.handled.filter((h) => h.count > 1).length;
      console.log(
        `[sqlite crash test] messages=${TOTAL} handled before kill=${handledBeforeKill} handled total=${handled.length} distinct=${distinct.size} duplicates=${duplicates} redelivered (deliveryCount>1)=${redelivered} lost=${[...ids].filter((id) => !distinct.has(id)).length}`,
      );
      expect(distinct.size).toBe(TOTAL);
      for (const id of ids) expect(distinct.has(id)).toBe(true);
      expect(redelivered).toBeGreaterThan(0);
    } finally {
      second.process.kill('SIGTERM');
      await second.exited;
      await producer.close();
    }
  });
});
