import { runReplyChannelSuite } from '@switchyard/testing';
import { Kafka, logLevel, type PartitionAssigner, PartitionAssigners } from 'kafkajs';
import { afterAll } from 'vitest';
import { KafkaTransport } from '../src/index.js';
import { FAST_GROUPS, tryStartMockCluster, unique } from './cluster.js';

const { cluster, failure } = await tryStartMockCluster();
afterAll(() => cluster?.stop());
const prefix = `${unique('rr')}.`;

/**
 * Whether the consumer group behind reply address `<topic>:<owner>` has a live member,
 * asked of the group coordinator (librdkafka's mock has no DescribeGroups): a probe joins
 * the group with the round-robin protocol and, when it is the leader, sees the members.
 * Not the leader means an older member leads; alone means nobody else is in the group.
 */
async function groupHasMember(address: string): Promise<boolean> {
  const colon = address.indexOf(':');
  const topic = address.slice(0, colon);
  const kafka = new Kafka({ brokers: [...(cluster?.brokers ?? [])], logLevel: logLevel.NOTHING });
  let members = 0;
  const counting: PartitionAssigner = (config) => {
    const roundRobin = PartitionAssigners.roundRobin(config);
    return {
      ...roundRobin,
      assign: (group) => {
        members = group.members.length;
        return roundRobin.assign(group);
      },
    };
  };
  const probe = kafka.consumer({
    groupId: `${topic}.${address.slice(colon + 1)}`,
    partitionAssigners: [counting],
    ...FAST_GROUPS_KAFKAJS,
  });
  try {
    const joined = new Promise<boolean>((resolve) => {
      probe.on(probe.events.GROUP_JOIN, (event) => resolve(event.payload.isLeader));
    });
    await probe.connect();
    await probe.subscribe({ topic, fromBeginning: false });
    await probe.run({ autoCommit: false, eachMessage: async () => undefined });
    const leader = await joined;
    return !leader || members > 1;
  } finally {
    await probe.disconnect();
  }
}

const FAST_GROUPS_KAFKAJS = {
  sessionTimeout: FAST_GROUPS.sessionTimeoutMs,
  rebalanceTimeout: FAST_GROUPS.rebalanceTimeoutMs,
  heartbeatInterval: FAST_GROUPS.heartbeatIntervalMs,
};

runReplyChannelSuite({
  name: 'librdkafka mock Kafka cluster (apt-get install librdkafka-dev)',
  probe: async () => {
    if (!cluster) throw failure;
  },
  createTransport: () => new KafkaTransport({ brokers: cluster?.brokers ?? [], topicPrefix: prefix, ...FAST_GROUPS }),
  exists: groupHasMember,
  endsWithConnection: true,
  waitTimeoutMs: 30_000,
  // Every `exists` is a group join and leave (2-3 s each on the mock), and so are open and close: a
  // test takes 20-30 s on an idle 2-core machine and ran past the default 60 s under CI's load.
  testTimeoutMs: 180_000,
});
