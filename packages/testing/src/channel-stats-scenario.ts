import type { ChannelStats, Delivery, Transport } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { waitFor } from './broker-gate.js';

const encoder = new TextEncoder();

/** Options of {@link channelStatsScenario}. */
export interface ChannelStatsScenarioOptions {
  /** How long to wait for the broker's figures to settle (approximate counters such as SQS's lag behind). Default 20 s. */
  readonly settleMs?: number;
}

/**
 * `Transport.channelStats` against a real broker, for every transport that
 * has it: three messages sent to a provisioned channel with no consumer show
 * as waiting (`depth`, or `lag` on a log broker); with one of them held
 * unacked by a consumer (prefetch 1), the broker shows it `inFlight`, the
 * other two still waiting and one consumer attached; once all are acked
 * nothing waits or is in flight. Only the fields the transport lists in
 * `capabilities.channelStats` are checked, and the others must be absent.
 * `channel` must be unique to the test.
 */
export async function channelStatsScenario(
  transport: Transport,
  channel: string,
  options: ChannelStatsScenarioOptions = {},
): Promise<void> {
  const settleMs = options.settleMs ?? 20_000;
  const fields = new Set(transport.capabilities.channelStats ?? []);
  expect(fields.size, `${transport.name} lists no channelStats fields`).toBeGreaterThan(0);
  const read = async (): Promise<ChannelStats> => {
    const stats = await (transport.channelStats as NonNullable<Transport['channelStats']>).call(transport, [channel]);
    expect(stats).toHaveLength(1);
    const only = stats[0] as ChannelStats;
    expect(only.channel).toBe(channel);
    for (const field of ['depth', 'inFlight', 'consumers', 'lag'] as const)
      if (!fields.has(field))
        expect(only[field], `${field} is not listed in capabilities.channelStats`).toBeUndefined();
    return only;
  };
  /** Poll until the filled fields equal `expected` (brokers' counters are eventually consistent). */
  const settle = async (expected: Omit<ChannelStats, 'channel'>, what: string): Promise<void> => {
    const want = Object.fromEntries(Object.entries(expected).filter(([field]) => fields.has(field as never)));
    const deadline = Date.now() + settleMs;
    let last: ChannelStats | undefined;
    for (;;) {
      last = await read();
      const got = Object.fromEntries(Object.keys(want).map((field) => [field, last?.[field as keyof ChannelStats]]));
      if (JSON.stringify(got) === JSON.stringify(want)) return;
      if (Date.now() > deadline) expect(got, `channel stats ${what}`).toEqual(want);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  await transport.provision({ channels: [{ name: channel, subscriptions: [] }] });
  await settle({ depth: 0, inFlight: 0, lag: 0 }, 'of an empty channel');
  await transport.send(
    channel,
    ['s-1', 's-2', 's-3'].map((id) => ({
      id,
      headers: { 'ce-id': id, 'ce-type': 'stats.test', 'ce-specversion': '1.0', 'content-type': 'application/json' },
      body: encoder.encode(JSON.stringify({ id })),
    })),
  );
  await settle({ depth: 3, inFlight: 0, lag: 3 }, 'with three messages waiting');

  const held: Delivery[] = [];
  const acked: string[] = [];
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const subscription = await transport.consume(
    channel,
    (delivery) => {
      if (held.length === 0) {
        held.push(delivery);
        return released; // held (its slot taken, so nothing else is fetched) until the test acks it
      }
      acked.push(delivery.message.id);
      return delivery.ack();
    },
    { concurrency: 1, prefetch: 1 },
  );
  try {
    await waitFor(() => held.length === 1, 'the first delivery', settleMs);
    await settle({ depth: 2, inFlight: 1, consumers: 1, lag: 3 }, 'with one message held by the consumer');
    const first = held[0] as Delivery;
    await first.ack();
    release();
    await settle({ depth: 0, inFlight: 0, consumers: 1, lag: 0 }, 'once every message was acked');
    expect(acked.length).toBe(2);
  } finally {
    release();
    await subscription.close({ drainTimeoutMs: 0 });
  }
}
