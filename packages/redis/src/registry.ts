import { type ChannelTopology, compilePattern, type PatternMatcher, validatePattern } from '@switchyard/core/transport';
import type { Redis } from 'ioredis';
import type { Keys } from './codec.js';
import { scripts } from './scripts.js';

/**
 * The subscription registry: a hash in Redis (channel → patterns) with a
 * version counter, and a client-side cache of it. `publish` matches routing
 * keys against the cache with core's matcher and hands the registry version to
 * the publish script, which refuses to write when the version moved on; the
 * caller then reloads and retries. So fan-out is always computed from the
 * registry as it is at the moment of the atomic write, without running a
 * pattern matcher in Lua.
 */
export class SubscriptionRegistry {
  readonly #keys: Keys;
  #snapshot: Snapshot | undefined;
  #loading: Promise<Snapshot> | undefined;

  constructor(keys: Keys) {
    this.#keys = keys;
  }

  /** Set each listed channel's patterns exactly (others untouched). Throws ConfigurationError on a bad pattern. */
  async provision(conn: Redis, channels: readonly ChannelTopology[]): Promise<void> {
    const args: string[] = [];
    for (const channel of channels) {
      for (const pattern of channel.subscriptions) validatePattern(pattern);
      args.push(channel.name, [...new Set(channel.subscriptions)].sort().join(' '));
    }
    if (args.length === 0) return;
    await scripts.provision.run(conn, [this.#keys.subs, this.#keys.subsVersion], args);
    this.#snapshot = undefined;
  }

  /** The cached registry, loading it when there is none. */
  current(conn: Redis): Promise<Snapshot> {
    if (this.#snapshot) return Promise.resolve(this.#snapshot);
    return this.reload(conn);
  }

  /** Drop the cache and read the registry again (concurrent callers share one read). */
  reload(conn: Redis): Promise<Snapshot> {
    this.#snapshot = undefined;
    this.#loading ??= this.#load(conn).finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(conn: Redis): Promise<Snapshot> {
    const reply = (await scripts.registry.run(conn, [this.#keys.subs, this.#keys.subsVersion], [])) as [
      string,
      string[],
    ];
    const [version, flat] = reply;
    const subscribers: Array<{ channel: string; matchers: PatternMatcher[] }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const matchers: PatternMatcher[] = [];
      for (const pattern of flat[i + 1]!.split(' ')) {
        // A pattern another process wrote that this version rejects is skipped, not fatal to publishing.
        try {
          matchers.push(compilePattern(pattern));
        } catch {}
      }
      subscribers.push({ channel: flat[i]!, matchers });
    }
    const snapshot = new Snapshot(String(version), subscribers);
    this.#snapshot = snapshot;
    return snapshot;
  }
}

/** One version of the registry, with a per-routing-key cache of target channels. Immutable. */
export class Snapshot {
  readonly #routes = new Map<string, readonly string[]>();

  constructor(
    readonly version: string,
    private readonly subscribers: ReadonlyArray<{ channel: string; matchers: readonly PatternMatcher[] }>,
  ) {}

  /** Channels subscribed to a pattern that matches `routingKey`, each once, in registry order. */
  targets(routingKey: string): readonly string[] {
    let channels = this.#routes.get(routingKey);
    if (channels === undefined) {
      channels = this.subscribers.filter((s) => s.matchers.some((m) => m(routingKey))).map((s) => s.channel);
      if (this.#routes.size < 10_000) this.#routes.set(routingKey, channels);
    }
    return channels;
  }
}
