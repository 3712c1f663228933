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
 *
 * A probe that crashes before it joins (on a loaded host the mock answers some of kafkajs's
 * requests as malformed, and kafkajs does not restart after that) or does not join within
 * {@link PROBE_JOIN_MS}, or fails to start, is replaced by a fresh one: waiting on it would hang the test.
 */
async function groupHasMember(address: string): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const answer = await probeGroup(address);
    if (answer !== undefined) return answer;
    if (attempt === PROBE_ATTEMPTS) throw new Error(`no probe of ${address} joined its group in ${attempt} attempts`);
    console.warn(`kafka reply-channels: probe ${attempt} of ${address} crashed or did not join; trying a fresh one`);
  }
}

const PROBE_JOIN_MS = 20_000;
const PROBE_ATTEMPTS = 4;

/** One probe: the answer, or undefined when it crashed or did not join in time. */
async function probeGroup(address: string): Promise<boolean | undefined> {
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
  let timer: NodeJS.Timeout | undefined;
  try {
    const joined = new Promise<boolean | undefined>((resolve) => {
      probe.on(probe.events.GROUP_JOIN, (event) => resolve(event.payload.isLeader));
      probe.on(probe.events.CRASH, (event) => {
        if (!event.payload.restart) resolve(undefined);
      });
      timer = setTimeout(() => resolve(undefined), PROBE_JOIN_MS);
    });
    const running = await probe
      .connect()
      .then(() => probe.subscribe({ topic, fromBeginning: false }))
      .then(() => probe.run({ autoCommit: false, eachMessage: async () => undefined }))
      .then(
        () => true,
        () => false,
      );
    const leader = running ? await joined : undefined;
    return leader === undefined ? undefined : !leader || members > 1;
  } finally {
    clearTimeout(timer);
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
