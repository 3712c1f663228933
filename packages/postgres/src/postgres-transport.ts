import type { DeadLetterStore } from '@switchyard/core';
import {
  BookedReplyChannels,
  type ChannelStats,
  type ConsumeOptions,
  checkChannel,
  claimingSettings,
  type DeliveryHandler,
  type EndpointMessage,
  ErrorCode,
  OpenConsumers,
  type ReplyChannels,
  type RoutedMessage,
  type Subscription,
  type Topology,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportMessage,
  validatePattern,
} from '@switchyard/core/transport';
import type pg from 'pg';
import { POSTGRES_CHANNEL_STATS, postgresChannelStats } from './channel-stats.js';
import { PostgresConsumer } from './consumer.js';
import { PostgresEndpoints } from './endpoints.js';
import { WakeHub } from './listener.js';
import { migrate, quoteSchema } from './migrations.js';
import { Notifier } from './notifier.js';
import { type PostgresTransportOptions, parsePostgresUrl, type ResolvedOptions, resolveOptions } from './options.js';
import { CONSUMER_SESSION, clientConfig, newPool, PRODUCER_SESSION } from './pools.js';
import { QueueAccess, wrap } from './queue-access.js';
import { PostgresReplyBook, REPLY_PREFIX } from './reply-book.js';
import { RowWriter } from './row-writer.js';
import { TRANSPORT_COMPONENT, transportMigrations, wakeChannel } from './schema.js';
import { Statements } from './statements.js';
import { PostgresDeadLetterStore } from './stores/dead-letter-store.js';

/**
 * A durable queue on PostgreSQL: every channel is rows of one table (`sy_messages` in the
 * configured schema), shared safely by any number of processes on any number of hosts.
 *
 * - `send`/`publish` resolve once the rows are committed. Concurrent calls in one event-loop
 *   turn are inserted by one statement (one round trip, one commit); a call never partially commits.
 * - `publish` inserts one row per channel whose subscriptions match, joined from
 *   `sy_subscriptions` in the same statement, so fan-out is atomic with the insert.
 * - A consumer claims rows in batches with `FOR UPDATE SKIP LOCKED` under a lease (`leaseMs`),
 *   renewed while it lives; `ack` deletes the row, `nack` makes it claimable again (after
 *   `delayMs`), and a crashed consumer's rows come back when their lease expires.
 * - Consumers are woken by LISTEN/NOTIFY (a trigger notifies on insert) within milliseconds;
 *   `pollIntervalMs` is only the fallback.
 * - Messages with the same key on a channel are delivered one at a time in send order.
 * - `deliverAt` is native: the row stays unclaimable until then.
 *
 * Construction does no I/O; the first operation connects and migrates the schema (versioned,
 * under an advisory lock, safe when several processes start at once). `close` stops every
 * consumer (releasing unsettled deliveries), waits for sends in flight, commits pending acks and
 * ends the pool; it is idempotent and later sends reject with `SY_CLOSED`.
 */
export class PostgresTransport implements Transport {
  readonly name = 'postgres';
  readonly capabilities: TransportCapabilities;
  /**
   * Reply channels for request/reply: channel `sy.reply.<owner>` of this schema, listed in
   * `sy_reply_channels` with its last sign of life (refreshed while open); an expired one is
   * removed, replies included, by the next process that opens a reply channel.
   */
  readonly replies: ReplyChannels;
  readonly #options: ResolvedOptions;
  readonly #quoted: string;
  readonly #statements: Statements;
  readonly #hub: WakeHub;
  readonly #notifier: Notifier;
  readonly #consumers = new OpenConsumers();
  readonly #writer: RowWriter;
  #pool: pg.Pool | undefined;
  /** Claims, acks, renewals and nacks: asynchronous commit (see QueueAccess). */
  #consumerPool: pg.Pool | undefined;
  /** The pools are ended: nothing may open them again. */
  #ended = false;
  #ready: Promise<void> | undefined;
  #access: QueueAccess | undefined;
  #closing: Promise<void> | undefined;
  readonly #endpoints: PostgresEndpoints;

  /** Throws a ConfigurationError for invalid options. */
  constructor(options: PostgresTransportOptions) {
    this.#options = resolveOptions(options);
    this.#quoted = quoteSchema(this.#options.schema);
    this.#statements = new Statements(this.#quoted, this.#options.schema);
    this.#hub = new WakeHub(
      this.#options.listen ? clientConfig(this.#options) : undefined,
      wakeChannel(this.#options.schema),
      this.#options.onError,
    );
    this.#notifier = new Notifier(() => this.#asyncPool(), wakeChannel(this.#options.schema), this.#options.onError);
    this.#writer = new RowWriter({
      statements: this.#statements,
      pool: () => this.#connect(),
      hub: this.#hub,
      notifier: this.#notifier,
      maxMessageBytes: this.#options.maxMessageBytes,
      maxInFlight: Math.max(1, Math.min(4, this.#options.poolSize)),
    });
    this.#endpoints = new PostgresEndpoints({
      schema: this.#options.schema,
      own: this,
      pool: () => this.#connect(),
      open: (schema) => new PostgresTransport({ ...this.#options, schema }),
    });
    this.capabilities = {
      delayedDelivery: 'native',
      orderingPerKey: true,
      maxMessageBytes: this.#options.maxMessageBytes,
      replay: false,
      nativeDeadLetter: false,
      patternFiltering: 'server',
      durable: true,
      reconnect: true,
      channelStats: POSTGRES_CHANNEL_STATS,
    };
    const book = new PostgresReplyBook(
      () => {
        this.#checkOpen();
        return this.#connect();
      },
      (channel, messages) => this.send(channel, messages),
      this.#quoted,
    );
    this.replies = new BookedReplyChannels(this, book, { prefix: REPLY_PREFIX });
  }

  /** The schema that holds the transport's tables. */
  get schema(): string {
    return this.#options.schema;
  }

  async provision(topology: Topology): Promise<void> {
    this.#checkOpen();
    for (const channel of topology.channels) {
      checkChannel(channel.name);
      for (const pattern of channel.subscriptions) validatePattern(pattern);
    }
    const pool = await this.#connect();
    const client = await pool.connect().catch((error: unknown) => Promise.reject(wrap(error, 'provision failed')));
    try {
      await client.query('BEGIN');
      for (const channel of topology.channels) {
        await this.#statements.setPatterns(client, this.#quoted, channel.name, [...new Set(channel.subscriptions)]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw wrap(error, 'provision failed');
    } finally {
      client.release();
    }
  }

  /** See {@link RowWriter.send}. */
  send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    try {
      this.#checkOpen();
      checkChannel(channel);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writer.send(channel, messages);
  }

  /** See {@link RowWriter.publish}. */
  publish(messages: readonly RoutedMessage[]): Promise<void> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writer.publish(messages);
  }

  async consume(channel: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    this.#checkOpen();
    checkChannel(channel);
    const settings = claimingSettings(options, this.#options.prefetch, this.#options.durableAck);
    const pool = await this.#connect();
    this.#access ??= new QueueAccess(this.#asyncPool(), pool, this.#statements, this.#hub, this.#options);
    const consumer = new PostgresConsumer(this.#access, channel, handler, settings);
    const subscription = this.#consumers.add(consumer);
    await consumer.start();
    return subscription;
  }

  /**
   * Consume `<schema>.<channel>`, a channel of a Switchyard message table this transport does not
   * own (see {@link PostgresEndpoints}); `SY_CONFIGURATION` when the schema has none. `group` is
   * not used: every consumer of a channel shares its rows.
   */
  async consumeEndpoint(
    endpoint: string,
    handler: DeliveryHandler,
    options: ConsumeOptions = {},
  ): Promise<Subscription> {
    this.#checkOpen();
    return this.#endpoints.consume(endpoint, handler, options);
  }

  /** Insert raw rows into `<schema>.<channel>` (headers as given), committed before it resolves; see {@link PostgresEndpoints}. */
  async sendEndpoint(endpoint: string, messages: readonly EndpointMessage[]): Promise<void> {
    this.#checkOpen();
    return this.#endpoints.send(endpoint, messages);
  }

  /**
   * See {@link Transport.deadLetterStore}: a {@link PostgresDeadLetterStore} in this transport's
   * schema (table `sy_dead_letters`, shared by every service, filtered by `service` when listed),
   * on a small pool of its own that its `close` ends. Construction does no I/O.
   */
  deadLetterStore(_service: string): DeadLetterStore {
    return new PostgresDeadLetterStore(this.#options.connectionString, { schema: this.#options.schema });
  }

  /** Depth and in-flight of each channel, counted in `sy_messages`; see {@link postgresChannelStats}. */
  async channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    this.#checkOpen();
    return postgresChannelStats(await this.#connect(), this.#quoted, channels);
  }

  async ping(): Promise<void> {
    const pool = await this.#connect();
    try {
      await pool.query('SELECT 1');
    } catch (error) {
      throw wrap(error, 'PostgreSQL does not answer');
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#consumers.closeAll();
    await this.#endpoints.close();
    await this.#writer.idle();
    await this.#access?.flush();
    await this.#notifier.drain();
    await this.#hub.stop();
    await this.#ready?.catch(() => undefined);
    this.#ended = true;
    const pools = [this.#pool, this.#consumerPool];
    this.#pool = undefined;
    this.#consumerPool = undefined;
    await Promise.all(pools.map((pool) => pool?.end().catch(() => undefined)));
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new TransportError(ErrorCode.Closed, 'the PostgreSQL transport is closed');
  }

  /** The pool of asynchronously committing sessions: claims, acks, renewals, nacks, notifications. */
  #asyncPool(): pg.Pool {
    if (this.#ended) throw new TransportError(ErrorCode.Closed, 'the PostgreSQL transport is closed');
    this.#consumerPool ??= newPool(this.#options, CONSUMER_SESSION);
    return this.#consumerPool;
  }

  /** The pool, with the schema migrated; a failed migration is tried again by the next operation. */
  #connect(): Promise<pg.Pool> {
    this.#pool ??= newPool(this.#options, PRODUCER_SESSION);
    const pool = this.#pool;
    this.#ready ??= migrate(pool, this.#options.schema, TRANSPORT_COMPONENT, transportMigrations(this.#options.schema));
    const ready = this.#ready;
    return ready.then(
      () => pool,
      (error: unknown) => {
        if (this.#ready === ready) this.#ready = undefined;
        throw error;
      },
    );
  }
}

/**
 * Build a {@link PostgresTransport} from a `postgres://` or `postgresql://` URL (see
 * {@link parsePostgresUrl} for the transport's own query parameters, e.g. `?schema=…`). Core
 * calls it for those transport URLs. Throws a ConfigurationError for a malformed URL or invalid options.
 */
export function transportFromUrl(url: string): PostgresTransport {
  return new PostgresTransport(parsePostgresUrl(url));
}
