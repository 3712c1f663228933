import { describe, expect, it } from 'vitest';
import { Telemetry } from '../src/telemetry/telemetry.js';
import type { ChannelStats, Transport } from '../src/transport/types.js';
import { otelFixture } from './otel-fixtures.js';

/** Just what the gauges use of a transport. */
function fakeTransport(
  fields: readonly ('depth' | 'inFlight' | 'consumers' | 'lag')[] | undefined,
  read?: (channels: readonly string[]) => Promise<ChannelStats[]>,
): Transport {
  return {
    name: 'fake',
    capabilities: { ...(fields ? { channelStats: fields } : {}) },
    ...(read ? { channelStats: read } : {}),
  } as unknown as Transport;
}

describe('switchyard.channel.* gauges', () => {
  it('are absent when the transport has no channel stats, and when no meter provider measures', () => {
    const otel = otelFixture();
    const telemetry = new Telemetry('svc', otel.telemetry);
    expect(telemetry.observeChannels(fakeTransport(undefined), ['svc'], () => undefined)).toBeUndefined();
    const withoutSdk = new Telemetry('svc');
    const read = async () => [{ channel: 'svc', depth: 1 }];
    expect(withoutSdk.observeChannels(fakeTransport(['depth'], read), ['svc'], () => undefined)).toBeUndefined();
  });

  it('create a gauge per listed field only, observe what a read gives, and stop reading once closed', async () => {
    const otel = otelFixture();
    const telemetry = new Telemetry('svc', { ...otel.telemetry, channelStatsMaxAgeMs: 0 });
    let reads = 0;
    const transport = fakeTransport(['lag'], async (channels) => {
      reads++;
      return channels.map((channel) => ({ channel, lag: 7 }));
    });
    const gauges = telemetry.observeChannels(transport, ['svc-inbox'], () => undefined);
    expect(gauges).toBeDefined();
    const lag = await otel.metric('switchyard.channel.lag');
    expect(lag.map((point) => [point.attributes['messaging.destination.name'], point.value])).toEqual([
      ['svc-inbox', 7],
    ]);
    expect(await otel.metric('switchyard.channel.depth')).toEqual([]);
    expect(reads).toBe(2); // one per collection at max age 0
    gauges?.close();
    await otel.metric('switchyard.channel.lag');
    expect(reads, 'closed gauges no longer read the broker').toBe(2);
  });

  it('report nothing when a read fails, tell onError, and ask again only after the max age', async () => {
    const otel = otelFixture();
    const telemetry = new Telemetry('svc', { ...otel.telemetry, channelStatsMaxAgeMs: 0 });
    let calls = 0;
    const errors: unknown[] = [];
    const transport = fakeTransport(['depth'], async (channels) => {
      calls++;
      if (calls === 1) throw new Error('broker down');
      return channels.map((channel) => ({ channel, depth: 3 }));
    });
    telemetry.observeChannels(transport, ['svc'], (error) => errors.push(error));
    expect(await otel.metric('switchyard.channel.depth')).toEqual([]);
    expect(String(errors[0])).toContain('broker down');
    expect((await otel.metric('switchyard.channel.depth')).map((point) => point.value)).toEqual([3]);
    expect(calls).toBe(2);
  });

  it('refuse a negative channelStatsMaxAgeMs at construction', () => {
    expect(() => new Telemetry('svc', { channelStatsMaxAgeMs: -1 })).toThrow(/channelStatsMaxAgeMs/);
  });
});
