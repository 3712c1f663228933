import { describe, expect, it } from 'vitest';
import type { Delivery, NackOptions, TransportMessage } from '../transport/types.js';
import { splitBatches } from './batch.js';

const encoder = new TextEncoder();

function delivery(message: TransportMessage) {
  const settled: Array<['ack'] | ['nack', NackOptions | undefined]> = [];
  const d: Delivery = {
    message,
    channel: 'c',
    deliveryCount: 1,
    ack: async () => void settled.push(['ack']),
    nack: async (options) => void settled.push(['nack', options]),
  };
  return { d, settled };
}

const batch = (events: unknown): TransportMessage => ({
  id: 'b-1',
  headers: { 'content-type': 'application/cloudevents-batch+json' },
  body: encoder.encode(JSON.stringify(events)),
});

describe('splitBatches', () => {
  it('hands each event of a batch on as a structured message and acks the broker message after the last', async () => {
    const seen: TransportMessage[] = [];
    const { d, settled } = delivery(batch([{ id: 'e-1', type: 't' }, { type: 'no id' }]));
    await splitBatches(async (part) => {
      seen.push(part.message);
      expect(settled).toEqual([]);
      await part.ack();
      await part.ack();
    })(d);
    expect(seen.map((m) => m.id)).toEqual(['e-1', 'b-1#1']);
    expect(seen[0]?.headers).toEqual({ 'content-type': 'application/cloudevents+json' });
    expect(JSON.parse(new TextDecoder().decode(seen[1]?.body))).toEqual({ type: 'no id' });
    expect(settled).toEqual([['ack']]);
  });

  it('nacks the broker message once, at the first nacked event, and stops there', async () => {
    const seen: string[] = [];
    const { d, settled } = delivery(batch([{ id: 'a' }, { id: 'b' }, { id: 'c' }]));
    await splitBatches(async (part) => {
      seen.push(part.message.id);
      if (part.message.id === 'b') await part.nack({ delayMs: 5 });
      else await part.ack();
    })(d);
    expect(seen).toEqual(['a', 'b']);
    expect(settled).toEqual([['nack', { delayMs: 5 }]]);
  });

  it('passes other messages, and a batch body that is not an array, through unchanged; an empty batch is acked', async () => {
    for (const message of [
      { id: 'x', headers: { 'content-type': 'application/json' }, body: encoder.encode('[]') },
      batch({ not: 'an array' }),
    ]) {
      const { d } = delivery(message);
      let passed: Delivery | undefined;
      await splitBatches(async (whole) => {
        passed = whole;
      })(d);
      expect(passed).toBe(d);
    }
    const { d, settled } = delivery(batch([]));
    await splitBatches(async () => undefined)(d);
    expect(settled).toEqual([['ack']]);
  });
});
