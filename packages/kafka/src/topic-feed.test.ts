import { describe, expect, it } from 'vitest';
import type { BatchControl, ConsumerSpec, GroupConsumer, IncomingRecord, KafkaClient } from './client.js';
import { FlowBudget, type Settle, TopicFeed } from './topic-feed.js';

const TOPIC = 't';

/** A client whose one group member the test drives by hand: assignments and batches as kafkajs would give them. */
function harness(committedOnBroker: () => bigint, budget = 1_000) {
  let spec: ConsumerSpec | undefined;
  const commits: string[] = [];
  const seeks: string[] = [];
  // As kafkajs keeps it: paused partitions stay paused across assignments until resumed by number.
  const paused = new Set<number>();
  const member: GroupConsumer = {
    pause: (_topic, partitions) => {
      for (const p of partitions) paused.add(p);
    },
    resume: (_topic, partitions) => {
      for (const p of partitions) paused.delete(p);
    },
    seek: (_topic, partition, offset) => void seeks.push(`${partition}@${offset}`),
    commit: async (offsets) => void commits.push(...offsets.map((o) => `${o.partition}@${o.offset}`)),
    stop: async () => undefined,
  };
  const client = {
    startConsumer: async (s: ConsumerSpec) => {
      spec = s;
      s.onAssignment({ [TOPIC]: [0] });
      return member;
    },
    committedOffsets: async () => new Map([[0, committedOnBroker()]]),
  } as unknown as KafkaClient;
  const pending = new Map<bigint, Settle>();
  const dispatched: bigint[] = [];
  const feed = new TopicFeed({
    groupId: 'g',
    topic: TOPIC,
    fromBeginning: true,
    budget: new FlowBudget(budget),
    partitionsConcurrently: 1,
    dispatch: (record, _partition, settle) => {
      dispatched.push(BigInt(record.offset));
      pending.set(BigInt(record.offset), settle);
    },
  });
  const control: BatchControl = { markTaken: () => undefined, isActive: () => true };
  const batch = (partition: number, from: number, to: number) =>
    (spec as ConsumerSpec).onBatch(
      {
        topic: TOPIC,
        partition,
        fetchedOffset: String(from),
        records: Array.from({ length: to - from + 1 }, (_, i) => record(from + i)),
      },
      control,
    );
  const settle = (...offsets: number[]) => {
    for (const offset of offsets) pending.get(BigInt(offset))?.();
  };
  const settled = async () => {
    // Commits run asynchronously: let them finish.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return {
    feed,
    start: () => feed.start(client),
    assign: (partitions: number[]) => spec?.onAssignment({ [TOPIC]: partitions }),
    batch,
    settle,
    settled,
    commits,
    seeks,
    dispatched,
    paused,
  };
}

function record(offset: number): IncomingRecord {
  return { offset: String(offset), key: undefined, value: new Uint8Array(), headers: {}, timestamp: 0 };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('TopicFeed across a rebalance', () => {
  it('a batch fetched before a rejoin and handed over after it commits nothing past records still in flight', async () => {
    let committed = -1n;
    const h = harness(() => committed);
    await h.start();
    await h.batch(0, 0, 9);
    h.settle(0, 1, 2, ...range(4, 9)); // offset 3 still in flight
    await h.settled();
    expect(h.commits.at(-1)).toBe('0@3');
    committed = 3n;
    // kafkajs rejoined inside another node's fetch while this batch, fetched from the old position, was queued.
    h.assign([0]);
    await h.batch(0, 10, 19);
    h.settle(...range(10, 19));
    await h.settled();
    expect(h.commits.at(-1), 'nothing committed past offset 3 while it is in flight').toBe('0@3');
    expect(h.seeks, 'the position goes back to the committed offset').toEqual(['0@3']);
    // The new generation reads from the committed offset; everything comes again and commits once settled.
    await h.batch(0, 3, 19);
    h.settle(...range(3, 19));
    await h.settled();
    expect(h.commits.at(-1)).toBe('0@20');
  });

  it('a stale batch of a partition that is no longer assigned is not dispatched', async () => {
    const h = harness(() => -1n);
    await h.start();
    await h.batch(0, 0, 4);
    h.assign([1]);
    await h.batch(0, 5, 9);
    expect(h.dispatched).toEqual([0n, 1n, 2n, 3n, 4n]);
  });

  it('follows a position that another member committed past (this member was away)', async () => {
    let committed = -1n;
    const h = harness(() => committed);
    await h.start();
    await h.batch(0, 0, 4);
    h.settle(...range(0, 4));
    await h.settled();
    committed = 50n; // another member owned the partition meanwhile
    h.assign([0]);
    await h.batch(0, 50, 52);
    expect(h.seeks).toEqual([]);
    expect(h.dispatched.slice(-3)).toEqual([50n, 51n, 52n]);
  });
});

describe('TopicFeed backpressure across a rebalance', () => {
  it('resumes every partition it paused, also those a generation in between did not assign', async () => {
    const h = harness(() => -1n, 2);
    await h.start();
    h.assign([0, 1]);
    await h.batch(0, 0, 4); // takes 0 and 1, then the budget is used up: the topic pauses
    expect([...h.paused].sort()).toEqual([0, 1]);
    h.assign([0]); // a rebalance takes partition 1 away while paused
    h.settle(0, 1); // room again: resume
    await h.settled();
    h.assign([0, 1]); // partition 1 comes back
    expect([...h.paused], 'no partition left paused').toEqual([]);
  });
});
