import { describe, expect, it } from 'vitest';
import type { KafkaClient, OutgoingRecord } from './client.js';
import { RecordProducer } from './record-producer.js';

/** A client that records produce calls; the test decides when each one completes. */
function recordingClient() {
  const calls: { ids: string[]; finish: (error?: Error) => void }[] = [];
  const client: Pick<KafkaClient, 'produce'> = {
    produce: (records) =>
      new Promise<void>((resolve, reject) => {
        calls.push({
          ids: records.map((r) => r.headers['ce-id'] ?? '?'),
          finish: (error) => (error ? reject(error) : resolve()),
        });
      }),
  };
  return { client: client as KafkaClient, calls };
}

function record(id: string, bytes = 10): OutgoingRecord {
  return { topic: 't', value: new Uint8Array(bytes), headers: { 'ce-id': id } };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('RecordProducer', () => {
  it('merges the sends of one turn into one produce call, in submission order', async () => {
    const { client, calls } = recordingClient();
    const producer = new RecordProducer(client, 1_000_000);
    const sends = ['a', 'b', 'c'].map((id) => producer.produce([record(id)]));
    await turn();
    expect(calls.map((c) => c.ids)).toEqual([['a', 'b', 'c']]);
    calls[0]?.finish();
    await Promise.all(sends);
  });

  it('keeps one request in flight; later sends wait and go out together, after it', async () => {
    const { client, calls } = recordingClient();
    const producer = new RecordProducer(client, 1_000_000);
    const first = producer.produce([record('a')]);
    await turn();
    const later = [producer.produce([record('b')]), producer.produce([record('c'), record('d')])];
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]?.finish();
    await first;
    await turn();
    expect(calls.map((c) => c.ids)).toEqual([['a'], ['b', 'c', 'd']]);
    calls[1]?.finish();
    await Promise.all(later);
  });

  it('splits a large batch into consecutive requests under maxRequestBytes, never overlapping', async () => {
    const { client, calls } = recordingClient();
    const producer = new RecordProducer(client, 100);
    const sends = ['a', 'b', 'c', 'd'].map((id) => producer.produce([record(id, 40)]));
    await turn();
    // ~64 bytes each with framing and header: no two fit in one 100-byte request.
    expect(calls.map((c) => c.ids)).toEqual([['a']]);
    for (let i = 0; i < 4; i++) {
      calls[i]?.finish();
      await turn();
    }
    expect(calls.map((c) => c.ids)).toEqual([['a'], ['b'], ['c'], ['d']]);
    await Promise.all(sends);
  });

  it('puts at most maxRecords records in one request', async () => {
    const { client, calls } = recordingClient();
    const producer = new RecordProducer(client, 1_000_000, 2);
    const sends = ['a', 'b', 'c', 'd', 'e'].map((id) => producer.produce([record(id)]));
    for (let turns = 0; calls.length < 3 && turns < 20; turns++) {
      await turn();
      for (const call of calls) call.finish();
    }
    await Promise.all(sends);
    expect(calls.map((c) => c.ids)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('rejects every send of a failed request and serves the next ones', async () => {
    const { client, calls } = recordingClient();
    const producer = new RecordProducer(client, 1_000_000);
    const failed = [producer.produce([record('a')]), producer.produce([record('b')])];
    await turn();
    calls[0]?.finish(new Error('broker said no'));
    for (const send of failed) await expect(send).rejects.toThrow('broker said no');
    const next = producer.produce([record('c')]);
    await turn();
    calls[1]?.finish();
    await next;
    expect(calls.map((c) => c.ids)).toEqual([['a', 'b'], ['c']]);
  });
});
