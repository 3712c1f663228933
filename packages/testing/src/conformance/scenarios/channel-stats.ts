import { isDeepStrictEqual } from 'node:util';
import type { ChannelStats, Delivery, Transport } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { waitFor } from '../../broker-gate.js';
import type { Scenario } from '../harness.js';
import { testMessages } from '../messages.js';

type Field = 'depth' | 'inFlight' | 'consumers' | 'lag';

/**
 * `Transport.channelStats` against the broker: the fields the capability names are
 * reported and follow sends, unacked deliveries, acks and a closed consumer; the
 * others stay absent (never guessed). `lag` (log brokers) counts what the group has
 * not committed: the held deliveries too, until they are acked. Brokers may update their counts a little late,
 * so each expectation is waited for, bounded.
 */
export const channelStatsScenarios: Scenario[] = [
  {
    name: 'channel-stats',
    title: 'channelStats: depth, in-flight, consumers and lag follow sends, unacked deliveries, acks and close',
    skipWhen: (capabilities) =>
      capabilities.channelStats === undefined ? 'the transport reports no channel stats' : undefined,
    async run(t) {
      const transport = await t.transport();
      const fields = new Set(t.capabilities.channelStats ?? []);
      const channel = await t.channel(transport, 'stats');
      const missing = t.name('stats-missing');
      const expectStats = (want: Partial<Record<Field, number>>, what: string) =>
        waitStats(transport, [channel, missing], fields, want, what, t.waitMs);

      await expectStats({ depth: 0, inFlight: 0, consumers: 0, lag: 0 }, 'an empty channel');
      await transport.send(channel, testMessages(3));
      await expectStats({ depth: 3, inFlight: 0, consumers: 0, lag: 3 }, 'three sent, no consumer');

      // Core's handler settles a delivery before it resolves: so does this one (a transport may count
      // its prefetch by handlers still running, as NATS does, or by unacked deliveries, as RabbitMQ does).
      const held: { delivery: Delivery; settle: () => Promise<void> }[] = [];
      const subscription = await transport.consume(
        channel,
        (delivery) =>
          new Promise<void>((resolve) => {
            held.push({ delivery, settle: () => delivery.ack().finally(resolve) });
          }),
        { concurrency: 2, prefetch: 2 },
      );
      t.defer(() => {
        for (const { settle } of held) void settle().catch(() => undefined);
      });
      await waitFor(() => held.length === 2, 'two deliveries held unacked', t.waitMs);
      await expectStats({ depth: 1, inFlight: 2, consumers: 1, lag: 3 }, 'two held unacked, one waiting');

      for (const { settle } of held.splice(0)) await settle();
      await waitFor(() => held.length === 1, 'the third delivery', t.waitMs);
      await held[0]?.settle();
      await expectStats({ depth: 0, inFlight: 0, consumers: 1, lag: 0 }, 'all acked');

      await subscription.close();
      await expectStats({ depth: 0, inFlight: 0, consumers: 0, lag: 0 }, 'the consumer closed');
    },
  },
];

/** Wait until `channel` reports `want` (for the fields the transport fills) and `missing` zeros; the rest absent. */
async function waitStats(
  transport: Transport,
  [channel, missing]: readonly [string, string],
  fields: ReadonlySet<string>,
  want: Partial<Record<Field, number>>,
  what: string,
  timeoutMs: number,
): Promise<void> {
  const expected = (name: string, values: Partial<Record<Field, number>>): ChannelStats => {
    const stats: Record<string, unknown> = { channel: name };
    for (const [field, value] of Object.entries(values)) if (fields.has(field)) stats[field] = value;
    return stats as unknown as ChannelStats;
  };
  const target = [expected(channel, want), expected(missing, { depth: 0, inFlight: 0, consumers: 0, lag: 0 })];
  const channelStats = transport.channelStats?.bind(transport);
  if (channelStats === undefined) throw new Error('capabilities.channelStats is set, but channelStats is missing');
  const deadline = Date.now() + timeoutMs;
  let last = await channelStats([channel, missing]);
  // Polls the broker (read-only, cheap): its counters are what is under test, no spy can stand in.
  while (!isDeepStrictEqual(last, target) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    last = await channelStats([channel, missing]);
  }
  expect(last, `channel stats for ${what}`).toEqual(target);
}
