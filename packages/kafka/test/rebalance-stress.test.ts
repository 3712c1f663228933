import type { Delivery, Subscription } from '@switchyard/core/transport';
import { brokerReachable, waitFor } from '@switchyard/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaTransport } from '../src/index.js';
import { FAST_GROUPS, tryStartMockCluster, unique } from './cluster.js';
import { message } from './helpers.js';
import { proxyCluster } from './proxied-cluster.js';

/**
 * At-least-once around rebalances and reconnects: two members of one group
 * (each behind TcpProxies of its own) join, leave with deliveries in flight,
 * lose their connections and see every broker of the mock drop them, while a
 * few thousand messages flow. A message counts as handled once its ack
 * resolved; every one must be handled at least once (duplicates are allowed).
 */
const { cluster, failure } = await tryStartMockCluster();
const reachable = await brokerReachable('librdkafka mock Kafka cluster (apt-get install librdkafka-dev)', async () => {
  if (!cluster) throw failure;
});
const nearA = await proxyCluster(cluster);
const nearB = await proxyCluster(cluster);
const made: KafkaTransport[] = [];
afterAll(async () => {
  await Promise.all(made.map((t) => t.close()));
  await Promise.all([nearA.close(), nearB.close()]);
  await cluster?.stop();
});
const prefix = `${unique('stress')}.`;
const make = (socketFactory?: typeof nearA.socketFactory) => {
  const t = new KafkaTransport({
    brokers: cluster?.brokers ?? ['127.0.0.1:9'],
    topicPrefix: prefix,
    ...FAST_GROUPS,
    ...(socketFactory ? { socketFactory } : {}),
  });
  made.push(t);
  return t;
};

const TOTAL = 3_000;
const BATCH = 50;

describe.runIf(reachable)('kafka: no message lost around rebalances and reconnects', () => {
  it(`${TOTAL} messages, two members joining and leaving, connections cut and brokers dropped`, async () => {
    const producer = make();
    const a = make(nearA.socketFactory);
    const b = make(nearB.socketFactory);
    const channel = unique('stress');
    await producer.provision({ channels: [{ name: channel, subscriptions: [] }] });
    const acked = new Map<string, number>();
    let deliveries = 0;
    const handler = async (delivery: Delivery) => {
      deliveries++;
      // Some work, so that rebalances and drops find deliveries in flight.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 6));
      try {
        await delivery.ack();
      } catch {
        return; // the consumer closed: not handled, it must come back
      }
      acked.set(delivery.message.id, (acked.get(delivery.message.id) ?? 0) + 1);
    };
    const consume = (t: KafkaTransport) => t.consume(channel, handler, { concurrency: 8, prefetch: 32 });
    const handled = () => acked.size;

    let subA: Subscription = await consume(a);
    const sending = (async () => {
      for (let start = 0; start < TOTAL; start += BATCH) {
        const batch = Array.from({ length: Math.min(BATCH, TOTAL - start) }, (_, i) =>
          message(`m${start + i}`, `m${start + i}`, { key: `k${(start + i) % 13}` }),
        );
        for (let attempt = 0; ; attempt++) {
          try {
            await producer.send(channel, batch);
            break;
          } catch (error) {
            if (attempt > 20) throw error;
          }
        }
        // Paced, so that the events below happen while messages keep coming.
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();
    const at = (share: number) =>
      waitFor(() => handled() >= TOTAL * share, `${share * 100}% handled (have ${handled()})`, 60_000);

    await at(0.05);
    let subB: Subscription = await consume(b); // rebalance: B joins
    await at(0.2);
    await nearA.refuse(); // A loses every connection for longer than its session: the group moves on without it
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await nearA.restore();
    await at(0.35);
    await cluster?.dropConnections(); // every broker of the mock goes down and up
    await at(0.5);
    await subB.close({ drainTimeoutMs: 0 }); // B leaves with deliveries in flight
    await at(0.6);
    subB = await consume(b);
    await at(0.7);
    nearB.cut();
    await at(0.8);
    await subA.close({ drainTimeoutMs: 0 });
    subA = await consume(a);
    await sending;
    await waitFor(
      () => handled() === TOTAL,
      () => `every message handled (have ${handled()}, lost so far ${TOTAL - handled()})`,
      90_000,
    ).catch(() => undefined);
    const lost = Array.from({ length: TOTAL }, (_, i) => `m${i}`).filter((id) => !acked.has(id));
    const duplicates = [...acked.values()].reduce((sum, n) => sum + n - 1, 0);
    console.log(
      `rebalance stress: ${TOTAL} sent, ${deliveries} deliveries, ${acked.size} handled, lost ${lost.length}, duplicates ${duplicates}`,
    );
    await Promise.all([subA.close(), subB.close()]);
    expect(lost, `lost: ${lost.slice(0, 20).join(',')}`).toEqual([]);
  }, 240_000);
});
