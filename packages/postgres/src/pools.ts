import pg from 'pg';
import type { ResolvedOptions } from './options.js';
import { wrap } from './queue-access.js';
import { WAKE_SETTING } from './schema.js';

/**
 * Session settings of the pool for sends, provision and ping. The claim must walk
 * `sy_messages_ready` in order and stop after `limit` rows; a queue table's statistics are always
 * stale (empty one minute, a million rows the next), and with few rows estimated the planner
 * prefers a bitmap scan of every claimable row plus a sort, so one claim costs as much as the
 * backlog is long. Sorting off makes the ordered index scan the plan it picks. The wake-up
 * trigger is off for these sessions: the transport notifies after its commits (see Notifier).
 * Set on the transport's own connections only.
 */
export const PRODUCER_SESSION = `-c enable_sort=off -c ${WAKE_SETTING}=off`;

/**
 * Session settings of the consumer pool: as {@link PRODUCER_SESSION}, and commits that do not wait
 * for the WAL flush. What it writes (leases, renewals, nacks, write-behind acks) a database crash
 * may lose, which only makes a row claimable again: at-least-once holds.
 */
export const CONSUMER_SESSION = `${PRODUCER_SESSION} -c synchronous_commit=off`;

/**
 * The `pg` settings of every connection of a transport. `settings` (`-c name=value …`) are added
 * to any `options` given in the URL.
 */
export function clientConfig(options: ResolvedOptions, settings?: string): pg.ClientConfig {
  const config = {
    connectionString: options.connectionString,
    application_name: options.applicationName,
    // A database that vanishes without closing the socket is probed by TCP keepalive, and a
    // connect that gets no answer fails instead of waiting forever.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: 10_000,
  };
  return settings === undefined ? config : withSessionOptions(config, settings);
}

/** A pool of up to `poolSize` connections with `settings`; a failing idle connection is reported, never thrown. */
export function newPool(options: ResolvedOptions, settings: string): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(options, settings), max: options.poolSize });
  // An idle connection that the server (or an outage) closes must not crash the process; the pool drops it.
  pool.on('error', (error) => options.onError(wrap(error, 'an idle PostgreSQL connection of the transport failed')));
  return pool;
}

/** `config` with `settings` appended to the `options` startup parameter, including one given in the URL. */
export function withSessionOptions(
  config: pg.ClientConfig & { connectionString: string },
  settings: string,
): pg.ClientConfig {
  try {
    const url = new URL(config.connectionString);
    const given = url.searchParams.get('options');
    url.searchParams.set('options', given ? `${given} ${settings}` : settings);
    return { ...config, connectionString: url.toString() };
  } catch {
    return { ...config, options: settings };
  }
}
