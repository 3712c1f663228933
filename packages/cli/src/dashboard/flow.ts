import type { ChannelMonitor } from './channels.js';
import { type FlowRates, type KindCounts, RATES_RETENTION_MS } from './rates.js';
import type { DeadLetterSources } from './sources.js';

/** Minutes the flow view covers at most. */
export const MAX_FLOW_MINUTES = 60;

/** One sample of a service's channel, taken by the dashboard. */
export interface FlowSample {
  readonly at: string;
  readonly depth?: number;
  readonly inFlight?: number;
}

/** The flow of one service over the last minutes. */
export interface ServiceFlow {
  readonly service: string;
  /** Dead letters per minute, oldest first (`minutes` buckets ending with the current minute), from the stores' timestamps. */
  readonly deadLettered: readonly number[];
  /** Depth and in-flight of its channel as sampled by this dashboard since it started, oldest first. */
  readonly samples: readonly FlowSample[];
  /**
   * Messages handled, delayed retries scheduled and dead letters stored per minute (same buckets),
   * from the service's own counters received over OTLP; absent when none of its metrics is in memory.
   */
  readonly metrics?: KindCounts;
}

/** What `GET /api/flow` answers. */
export interface FlowView {
  readonly minutes: number;
  /** Start of the first minute bucket (ISO). */
  readonly from: string;
  /** End of the last bucket: the end of the current minute (ISO). */
  readonly to: string;
  /**
   * Since when the OTLP counts cover (ISO): the first export received or the start of the
   * retention (15 minutes), whichever is later; absent when no metrics have arrived.
   */
  readonly metricsSince?: string;
  readonly services: readonly ServiceFlow[];
}

/**
 * The flow of every service of the map over the last `minutes`: dead letters per minute counted
 * from the dead-letter stores (durable, so the history predates the dashboard; at most
 * `MAX_SCAN` records per store), and the channel samples the monitor took in that window.
 * Handled, retried and dead-lettered per minute come from the services' OpenTelemetry counters
 * they export to this dashboard (`rates`); a service that sent metrics but is not in the map is listed too.
 */
export async function flowOf(
  sources: DeadLetterSources,
  monitor: ChannelMonitor,
  rates: FlowRates,
  services: readonly string[],
  minutes: number,
  now = Date.now(),
): Promise<FlowView> {
  const to = Math.ceil((now + 1) / 60_000) * 60_000;
  const from = to - minutes * 60_000;
  const page = await sources.page({ since: new Date(from) }, 0, Number.MAX_SAFE_INTEGER);
  const counts = new Map(services.map((s) => [s, new Array<number>(minutes).fill(0)]));
  for (const record of page.items) {
    const bucket = Math.floor((Date.parse(record.deadLetteredAt) - from) / 60_000);
    if (bucket < 0 || bucket >= minutes) continue;
    let series = counts.get(record.service);
    if (series === undefined) {
      // A service that is not (or no longer) in the map still shows its dead letters.
      series = new Array<number>(minutes).fill(0);
      counts.set(record.service, series);
    }
    series[bucket] = (series[bucket] ?? 0) + 1;
  }
  for (const service of rates.services)
    if (!counts.has(service)) counts.set(service, new Array<number>(minutes).fill(0));
  const firstAt = rates.firstAt;
  const samples = monitor.samples.filter((s) => Date.parse(s.at) >= from);
  return {
    minutes,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    ...(firstAt !== undefined
      ? { metricsSince: new Date(Math.max(firstAt, now - RATES_RETENTION_MS)).toISOString() }
      : {}),
    services: [...counts].map(([service, deadLettered]) => ({
      service,
      deadLettered,
      ...withMetrics(rates.counts(service, from, minutes)),
      samples: samples.map((sample) => {
        const channel = sample.channels.find((c) => c.service === service);
        return {
          at: sample.at,
          ...(channel?.depth !== undefined ? { depth: channel.depth } : {}),
          ...(channel?.inFlight !== undefined ? { inFlight: channel.inFlight } : {}),
        };
      }),
    })),
  };
}

function withMetrics(metrics: KindCounts | undefined): { metrics?: KindCounts } {
  return metrics === undefined ? {} : { metrics };
}
