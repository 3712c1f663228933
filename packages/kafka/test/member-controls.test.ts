import { describe, expect, it } from 'vitest';
import { KafkajsClient } from '../src/kafkajs-client.js';
import { resolveOptions } from '../src/options.js';
import { FAST_GROUPS, unique } from './cluster.js';
import { kafkaFixture } from './helpers.js';

const kafka = await kafkaFixture();

describe.skipIf(!kafka.reachable)('kafka: a group member between runs', () => {
  // kafkajs throws "consumer#run must be called first" from pause/resume/seek
  // on a member that is not running: after a crash before its relaunch, and
  // after stop. A feed closing at that moment pauses its partitions; CI once
  // failed on exactly that (rebalance-stress, close during a relaunch).
  it('pause, resume and seek on a stopped member are no-ops, not errors', async () => {
    const client = new KafkajsClient(
      resolveOptions({ brokers: kafka.cluster().brokers, topicPrefix: `${unique('m')}.`, ...FAST_GROUPS }),
    );
    const topic = unique('member-controls');
    const member = await client.startConsumer({
      groupId: unique('g'),
      topics: [{ topic, fromBeginning: true }],
      partitionsConcurrently: 1,
      onBatch: async () => undefined,
      onAssignment: () => undefined,
    });
    await member.stop();
    expect(() => member.pause(topic, [0])).not.toThrow();
    expect(() => member.resume(topic, [0])).not.toThrow();
    expect(() => member.seek(topic, 0, '0')).not.toThrow();
    await client.close();
  });
});
