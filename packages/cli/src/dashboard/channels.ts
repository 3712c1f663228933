import { existsSync } from 'node:fs';
import type { ServiceMap } from '@switchyard/core';
import { type Transport, withTimeout } from '@switchyard/core/transport';
import { parseSqliteUrl } from '@switchyard/sqlite';
import { topologyOf } from '../commands/topology.js';
import type { CliConfig } from '../config.js';

/** The counts of one service's channel, as its transport reports them; a field is absent where it cannot tell. */
export interface ChannelCounts {
  readonly service: string;
  readonly transport: string;
  readonly channel: string;
  readonly depth?: number;
  readonly inFlight?: number;
  readonly consumers?: number;
  readonly lag?: number;
}

/** What one transport could tell, or why not. */
export interface TransportCounts {
  readonly transport: string;
  /** The fields it fills (`capabilities.channelStats`); empty when it reports none. */
  readonly fields: readonly string[];
  /** Why there are no counts from it: no `channelStats`, unreachable, no database file. */
  readonly error?: string;
}

/** One reading of every channel of the service map. */
export interface ChannelsSnapshot {
  /** When it was read (ISO time). */
  readonly at: string;
  readonly channels: readonly ChannelCounts[];
  readonly transports: readonly TransportCounts[];
}

/** How long one transport may take to answer before the dashboard reports it as not answering. */
const READ_TIMEOUT_MS = 3_000;

/**
 * Reads `Transport.channelStats` for every service's channel of the configured service map,
 * through the transports of `map` (the connections replay uses too, opened on first use), and
 * keeps the readings of the last `keep` samples taken by {@link start} for the flow chart. A
 * transport that fails, times out or reports nothing is named in `transports` with the reason;
 * the others are still read. A `sqlite:` file that does not exist is reported, never created; a
 * `memory://` transport is reported as out of sight (it lives in each service's own process).
 * Read-only on every broker. `stop` ends sampling (idempotent); closing the map is the owner's.
 */
export class ChannelMonitor {
  readonly #config: CliConfig;
  readonly #map: ServiceMap | undefined;
  readonly #keep: number;
  readonly #samples: ChannelsSnapshot[] = [];
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<ChannelsSnapshot> | undefined;

  constructor(config: CliConfig, map: ServiceMap | undefined, keep = 180) {
    this.#config = config;
    this.#map = map;
    this.#keep = keep;
  }

  /** Read now; concurrent callers share one reading. Never rejects: failures are in `transports`. */
  read(): Promise<ChannelsSnapshot> {
    this.#reading ??= this.#read().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  /** Read now and keep the reading as a sample (the oldest goes past `keep`). Never rejects. */
  async sample(): Promise<void> {
    this.#samples.push(await this.read());
    if (this.#samples.length > this.#keep) this.#samples.shift();
  }

  /** Take a sample every `intervalMs` (the timer does not keep the process alive), the first one now. */
  start(intervalMs: number): void {
    if (this.#timer !== undefined) return;
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), intervalMs);
    this.#timer.unref();
  }

  /** The samples taken so far, oldest first. */
  get samples(): readonly ChannelsSnapshot[] {
    return this.#samples;
  }

  /** Stop sampling; waits for a reading under way. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#reading;
  }

  async #read(): Promise<ChannelsSnapshot> {
    const at = new Date().toISOString();
    const { services } = topologyOf(this.#config);
    const byTransport = new Map<string, typeof services>();
    for (const service of services)
      byTransport.set(service.transport, [...(byTransport.get(service.transport) ?? []), service]);
    const channels: ChannelCounts[] = [];
    const transports: TransportCounts[] = [];
    await Promise.all(
      [...byTransport].map(async ([name, mapped]) => {
        const base = mapped.map((s) => ({ service: s.name, transport: name, channel: s.channel }));
        try {
          const transport = await this.#transport(name);
          const fields = transport.capabilities.channelStats ?? [];
          if (transport.channelStats === undefined || fields.length === 0) {
            transports.push({ transport: name, fields: [], error: `${transport.name} reports no channel counts` });
            channels.push(...base);
            return;
          }
          const stats = await withTimeout(
            transport.channelStats([...new Set(base.map((b) => b.channel))]),
            READ_TIMEOUT_MS,
            `the channel counts of transport '${name}'`,
          );
          const byChannel = new Map(stats.map(({ channel, ...counts }) => [channel, counts]));
          transports.push({ transport: name, fields });
          channels.push(...base.map((b) => ({ ...b, ...byChannel.get(b.channel) })));
        } catch (error) {
          transports.push({
            transport: name,
            fields: [],
            error: error instanceof Error ? error.message : String(error),
          });
          channels.push(...base);
        }
      }),
    );
    const order = new Map(services.map((s, index) => [s.name, index]));
    channels.sort((a, b) => (order.get(a.service) ?? 0) - (order.get(b.service) ?? 0));
    transports.sort((a, b) => a.transport.localeCompare(b.transport));
    return { at, channels, transports };
  }

  async #transport(name: string): Promise<Transport> {
    if (this.#map === undefined) throw new Error('no transports configured');
    const url = this.#config.transports[name];
    if (url?.startsWith('memory:'))
      throw new Error("memory:// lives inside each service's process: the dashboard cannot see its channels");
    if (url?.startsWith('sqlite:')) {
      const { path } = parseSqliteUrl(url);
      if (path !== ':memory:' && !existsSync(path)) throw new Error(`database '${path}' does not exist yet`);
    }
    return this.#map.transport(name);
  }
}
