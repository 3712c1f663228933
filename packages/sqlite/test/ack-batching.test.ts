import { ErrorCode, type TransportError } from '@switchyard/core/transport';
import { waitFor } from '@switchyard/testing';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SqliteTransport } from '../src/index.js';
import { bodyN, channelName, msg, tempDir } from './helpers.js';

// Write-behind acks ride on the consumer's next claim, or commit on their own
// when no claim comes; unkeyed rows are deleted in chunks, keyed ones one by one.
const tmp = tempDir();
const open: SqliteTransport[] = [];
const readers: Database.Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
  for (const reader of readers.splice(0)) reader.close();
});
afterAll(() => tmp.cleanup());

function setup(options: { prefetch?: number } = {}) {
  const path = tmp.file();
  const errors: TransportError[] = [];
  const t = new SqliteTransport({ path, onError: (error) => errors.push(error), ...options });
  open.push(t);
  let reader: Database.Database | undefined;
  // Opened on first use: the transport creates the file.
  const left = (channel: string) => {
    if (reader === undefined) {
      reader = new Database(path, { readonly: true });
      readers.push(reader);
    }
    return reader.prepare('SELECT count(*) FROM sy_messages WHERE channel = ?').pluck().get(channel) as number;
  };
  return { t, left, errors };
}

describe('SqliteTransport write-behind acks', () => {
  it('deletes every acked row while the transport stays open, after the channel went idle', async () => {
    const { t, left, errors } = setup();
    const ch = channelName();
    // 173 unkeyed rows: several full chunks of the batched delete and a partial one.
    await t.send(
      ch,
      Array.from({ length: 173 }, (_, i) => msg(i)),
    );
    const seen = new Set<number | string>();
    await t.consume(
      ch,
      async (d) => {
        seen.add(bodyN(d.message.body));
        await d.ack();
      },
      { concurrency: 8, prefetch: 100 },
    );
    await waitFor(() => seen.size === 173, 'all 173 handled');
    // No more claims come (the channel is empty): the last acks must commit on their own.
    await waitFor(() => left(ch) === 0, 'the channel empty without close');
    expect(errors).toEqual([]);
  });

  it('mixes keyed and unkeyed acks in one batch: keys stay in order and every row goes', async () => {
    const { t, left, errors } = setup();
    const ch = channelName();
    const sent = [
      ...Array.from({ length: 60 }, (_, i) => msg(`u${i}`)),
      ...Array.from({ length: 6 }, (_, i) => msg(`a${i}`, { key: 'a' })),
      ...Array.from({ length: 6 }, (_, i) => msg(`b${i}`, { key: 'b' })),
    ];
    await t.send(ch, sent);
    const order: Array<number | string> = [];
    await t.consume(
      ch,
      async (d) => {
        order.push(bodyN(d.message.body));
        await d.ack();
      },
      { concurrency: 4, prefetch: 50 },
    );
    await waitFor(() => order.length === sent.length, 'all handled');
    const keyed = (prefix: string) => order.filter((n) => String(n).startsWith(prefix));
    expect(keyed('a')).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
    expect(keyed('b')).toEqual(['b0', 'b1', 'b2', 'b3', 'b4', 'b5']);
    await waitFor(() => left(ch) === 0, 'the channel empty');
    expect(errors).toEqual([]);
  });

  it('a bad write queued by a handler fails alone; the claim that carries it is not failed', async () => {
    const { t, left, errors } = setup();
    const ch = channelName();
    const other = channelName('other');
    await t.send(
      ch,
      Array.from({ length: 300 }, (_, i) => msg(i)),
    );
    // Passes the checks before the transaction, then throws inside it (BigInt in Math.floor).
    const bad = { ...msg('bad'), deliverAt: (10n ** 20n) as unknown as number };
    const outcomes: Array<Promise<unknown>> = [];
    let handled = 0;
    await t.consume(
      ch,
      async (d) => {
        // Queued without waiting: the consumer's next claim may carry it in its transaction.
        if (bodyN(d.message.body) === 50)
          outcomes.push(
            t.send(other, [bad]).then(
              () => 'sent',
              (e: unknown) => e,
            ),
          );
        await d.ack();
        handled++;
      },
      { concurrency: 8, prefetch: 100 },
    );
    await waitFor(() => handled === 300, 'all 300 handled');
    const [outcome] = await Promise.all(outcomes);
    expect(outcome).toMatchObject({ code: ErrorCode.SendFailed });
    await waitFor(() => left(ch) === 0, 'the channel empty');
    expect(errors).toEqual([]);
  });

  it('close commits acks that no claim took', async () => {
    const { t, left } = setup();
    const ch = channelName();
    await t.send(ch, [msg(1), msg(2), msg(3)]);
    let handled = 0;
    await t.consume(ch, async (d) => {
      await d.ack();
      handled++;
    });
    await waitFor(() => handled === 3, '3 handled');
    await t.close();
    expect(left(ch)).toBe(0);
  });
});
