import kafkajs, { type Message, type PartitionerArgs } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { stablePartitioner } from './stable-partitioner.js';

const partitionMetadata = [0, 1, 2, 3].map((partitionId) => ({
  partitionId,
  leader: partitionId % 3,
  partitionErrorCode: 0,
  replicas: [],
  isr: [],
}));
const args = (message: Message): PartitionerArgs => ({ topic: 't', partitionMetadata, message });

describe('stablePartitioner', () => {
  it('gives a keyless message the same partition on every retry, where round-robin moves on', () => {
    const messages: Message[] = Array.from({ length: 9 }, (_, n) => ({ value: `m${n}` }));
    const plain = kafkajs.Partitioners.DefaultPartitioner();
    const first = messages.map((m) => plain(args(m)));
    expect(
      messages.map((m) => plain(args(m))),
      'the default partitioner moved',
    ).not.toEqual(first);

    const stable = stablePartitioner(kafkajs.Partitioners.DefaultPartitioner)();
    const chosen = messages.map((m) => stable(args(m)));
    expect(new Set(chosen).size, 'still spread over the partitions').toBe(4);
    expect(messages.map((m) => stable(args(m)))).toEqual(chosen);
  });

  it('keeps hashing keyed messages as the default partitioner does', () => {
    const plain = kafkajs.Partitioners.DefaultPartitioner();
    const stable = stablePartitioner(kafkajs.Partitioners.DefaultPartitioner)();
    for (const key of ['a', 'b', 'order-17'])
      expect(stable(args({ key, value: 'x' }))).toBe(plain(args({ key, value: 'x' })));
  });
});
