import type { Topology, Transport, TransportCapabilities } from '@switchyard/core/transport';
import { type CollectOptions, type Collector, collect } from './collect.js';
import { uniqueName } from './names.js';
import type { ConformanceOptions } from './options.js';

/**
 * One conformance scenario: one `it` block. `name` is the stable key used by
 * `ConformanceOptions.skip` and `only`; `title` is what the reporter shows.
 */
export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Why this scenario cannot run on a transport with these capabilities and options; undefined to run it. */
  skipWhen?(capabilities: TransportCapabilities, options: ConformanceOptions): string | undefined;
  /** Why this scenario cannot run on this transport (checked at run time on a fresh, unconnected one); undefined to run it. */
  skipFor?(transport: Transport): string | undefined;
  /** Test timeout (default 60 s). */
  readonly timeoutMs?: number;
  run(t: ScenarioContext): Promise<void>;
}

/** Bound on closing the transports a scenario opened, so a hanging close fails loudly instead of stalling the run. */
const DISPOSE_TIMEOUT_MS = 45_000;

/**
 * What a scenario gets: transports it opens (closed after the scenario),
 * unique names, scaled counts and collectors.
 */
export class ScenarioContext {
  readonly options: ConformanceOptions;
  readonly capabilities: TransportCapabilities;
  /** Default bound on waiting for deliveries. */
  readonly waitMs: number;
  readonly #opened: Transport[] = [];
  readonly #collectors: Collector[] = [];
  readonly #cleanups: Array<() => void> = [];

  constructor(options: ConformanceOptions, capabilities: TransportCapabilities) {
    this.options = options;
    this.capabilities = capabilities;
    this.waitMs = options.waitTimeoutMs ?? 20_000;
  }

  /** A new transport from `createTransport`, closed when the scenario ends. */
  async transport(): Promise<Transport> {
    const transport = await this.options.createTransport();
    this.#opened.push(transport);
    return transport;
  }

  /** `base` scaled by `options.scale`, at least 1. */
  count(base: number): number {
    return Math.max(1, Math.round(base * (this.options.scale ?? 1)));
  }

  /** A unique channel name starting with `sy-<prefix>`. */
  name(prefix: string): string {
    return uniqueName(`sy-${prefix}`);
  }

  /** A unique channel name, provisioned on `transport` with `subscriptions`. */
  async channel(transport: Transport, prefix: string, subscriptions: readonly string[] = []): Promise<string> {
    const name = this.name(prefix);
    await transport.provision({ channels: [{ name, subscriptions }] });
    return name;
  }

  /** Provision `topology` on `transport`. */
  provision(transport: Transport, topology: Topology): Promise<void> {
    return transport.provision(topology);
  }

  /** {@link collect}, closed when the scenario ends. */
  async collect(transport: Transport, channel: string, options?: CollectOptions): Promise<Collector> {
    const collector = await collect(transport, channel, options);
    this.#collectors.push(collector);
    return collector;
  }

  /**
   * Run `cleanup` when the scenario ends, before its transports close; for
   * releasing handlers a failed assertion left blocked, so closing does not
   * wait out a drain timeout.
   */
  defer(cleanup: () => void): void {
    this.#cleanups.push(cleanup);
  }

  /** Close every subscription and transport opened here; bounded, rejects if something hangs. */
  async dispose(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    const work = Promise.allSettled([
      ...this.#collectors.map((collector) => collector.close({ drainTimeoutMs: 5_000 })),
      ...this.#opened.map((transport) => transport.close()),
    ]);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), DISPOSE_TIMEOUT_MS);
    });
    const outcome = await Promise.race([work, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new Error(`closing the scenario's transports took over ${DISPOSE_TIMEOUT_MS} ms`);
  }
}
