import type { Channel, Message } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { AckBatcher } from './ack-batcher.js';

/** Records the acks a batcher writes; only `ack` is used by AckBatcher. */
function recorder() {
  const acks: Array<[number, boolean]> = [];
  const channel = {
    ack: (message: Message, allUpTo?: boolean) => acks.push([message.fields.deliveryTag, allUpTo === true]),
  } as unknown as Channel;
  return { acks, batcher: new AckBatcher(channel) };
}

describe('AckBatcher', () => {
  it('writes the settled prefix as one multiple ack and never covers an unsettled delivery', () => {
    const { acks, batcher } = recorder();
    for (const tag of [1, 2, 3, 4, 5, 6]) batcher.delivered(tag);
    batcher.ack(2);
    batcher.ack(1);
    batcher.ack(3);
    batcher.ack(5); // 4 is still being handled
    batcher.flush();
    expect(acks).toEqual([
      [3, true],
      [5, false],
    ]);
    acks.length = 0;
    batcher.ack(4);
    batcher.ack(6);
    batcher.flush();
    expect(acks).toEqual([[6, true]]);
  });

  it('skips deliveries settled by nack or reject', () => {
    const { acks, batcher } = recorder();
    for (const tag of [1, 2, 3]) batcher.delivered(tag);
    batcher.settledElsewhere(1);
    batcher.ack(2);
    batcher.ack(3);
    batcher.flush();
    expect(acks).toEqual([[3, true]]);
  });

  it('flushes by itself on the next turn of the event loop', async () => {
    const { acks, batcher } = recorder();
    batcher.delivered(1);
    batcher.ack(1);
    expect(acks).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(acks).toEqual([[1, true]]);
  });

  it('swallows a closed channel', () => {
    const channel = {
      ack: () => {
        throw new Error('Channel closed');
      },
    } as unknown as Channel;
    const batcher = new AckBatcher(channel);
    batcher.delivered(1);
    batcher.ack(1);
    expect(() => batcher.flush()).not.toThrow();
  });
});
