import {
  BookedReplyChannels,
  type ChannelStats,
  type ConsumeOptions,
  checkChannel,
  claimingSettings,
  type DeadLetterStore,
  type DeliveryHandler,
  ErrorCode,
  matchesPattern,
  OpenConsumers,
  type ReplyChannels,
  type RoutedMessage,
  type Subscription,
  storedHeaders,
  type Topology,
  type Transport,
  type TransportCapabilities,
  TransportError,
  type TransportMessage,
  validatePattern,
} from '@switchyard/core/transport';
import { SQLITE_CHANNEL_STATS, sqliteChannelStats } from './channel-stats.js';
import { SqliteConsumer } from './consumer.js';
import { guard, openDatabase, type SqliteDatabase, withBusyTimeout } from './database.js';
import { SqliteDeadLetterStore } from './dead-letter-store.js';
import { MessageTable } from './message-table.js';
import { parseSqliteUrl, type ResolvedOptions, resolveOptions, type SqliteTransportOptions } from './options.js';
import { TransportQueueAccess } from './queue-access.js';
import { REPLY_PREFIX, SqliteReplyBook } from './reply-book.js';
import { WakeHub } from './wake-hub.js';
import { WriteBatcher } from './write-batcher.js';

interface Connection {
  readonly db: SqliteDatabase;
  readonly table: MessageTable;
}

/**
 * The embedded durable transport: every channel is rows of one SQLite file in
 * WAL mode, shared safely by any number of processes on the same host.
 *
 * - `send`/`publish` resolve once the rows are committed (WAL, synchronous=NORMAL:
 *   durable against a process crash). Concurrent calls in one event-loop turn
 *   commit together in one transaction; a call never partially commits.
 * - `publish` inserts one row per channel whose subscriptions match, read from
 *   `sy_subscriptions` (cached; refreshed when a provision changes it).
 * - A consumer claims rows in batches under a lease (`leaseMs`), renewed while
 *   it lives; `ack` deletes the row, `nack` makes it visible again (after
 *   `delayMs`), and a crashed consumer's rows come back when the lease expires.
 * - Messages with the same key on a channel are delivered one at a time in send order.
 * - `deliverAt` is native: the row stays invisible until then.
 *
 * Construction does no I/O; the first operation opens the file. `close` stops
 * every consumer (releasing unsettled deliveries), commits pending writes and
 * closes the connection; it is idempotent and later sends reject with `SY_CLOSED`.
 */
export class SqliteTransport implements Transport {
  readonly name = 'sqlite';
  readonly capabilities: TransportCapabilities;
  /**
   * Reply channels for request/reply: channel `sy.reply.<owner>` of this database, listed in
   * `sy_reply_channels` with its last sign of life (refreshed while open); an expired one is
   * removed, replies included, by the next process that opens a reply channel.
   */
  readonly replies: ReplyChannels;
  readonly #options: ResolvedOptions;
  readonly #hub = new WakeHub();
  readonly #batcher: WriteBatcher;
  readonly #consumers = new OpenConsumers();
  #connection: Connection | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  #subscriptionsVersion = -1;
  #subscriptions: Array<{ channel: string; pattern: string }> = [];
  readonly #routes = new Map<string, readonly string[]>();
  #access: TransportQueueAccess | undefined;

  /** Throws a ConfigurationError for invalid options. */
  constructor(options: SqliteTransportOptions) {
    this.#options = resolveOptions(options);
    this.#batcher = new WriteBatcher(() => this.#connect().db, this.#options.busyTimeoutMs);
    this.capabilities = {
      delayedDelivery: 'native',
      orderingPerKey: true,
      maxMessageBytes: this.#options.maxMessageBytes,
      replay: false,
      nativeDeadLetter: false,
      patternFiltering: 'server',
      durable: this.#options.path !== ':memory:',
      reconnect: true,
      channelStats: SQLITE_CHANNEL_STATS,
    };
    const book = new SqliteReplyBook(
      () => this.#connect().db,
      (channel, messages) => this.send(channel, messages),
      this.#options.busyTimeoutMs,
    );
    this.replies = new BookedReplyChannels(this, book, { prefix: REPLY_PREFIX });
  }

  /** The absolute database path (or `:memory:`). */
  get path(): string {
    return this.#options.path;
  }

  async provision(topology: Topology): Promise<void> {
    for (const channel of topology.channels) {
      checkChannel(channel.name);
      for (const pattern of channel.subscriptions) validatePattern(pattern);
    }
    const { db, table } = this.#connect();
    guard(ErrorCode.TransportUnavailable, 'provision failed', () =>
      withBusyTimeout(db, this.#options.busyTimeoutMs, () =>
        db
          .transaction(() => {
            for (const channel of topology.channels) table.setPatterns(channel.name, channel.subscriptions);
          })
          .immediate(),
      ),
    );
  }

  send(channel: string, messages: readonly TransportMessage[]): Promise<void> {
    // Not an async function: the batcher's promise is returned as is (one promise fewer per send).
    let rows: ReadonlyArray<readonly [TransportMessage, string]>;
    let table: MessageTable;
    try {
      this.#checkOpen();
      checkChannel(channel);
      if (messages.length === 0) return Promise.resolve();
      rows = messages.map((message) => [message, this.#headersOf(message)] as const);
      table = this.#connect().table;
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#batcher.submit({
      run: () => {
        const now = Date.now();
        for (const [message, headers] of rows) table.insert(channel, message, headers, now);
      },
      after: () => this.#hub.notify(channel),
      code: ErrorCode.SendFailed,
      what: `send to channel '${channel}' failed`,
    });
  }

  async publish(messages: readonly RoutedMessage[]): Promise<void> {
    this.#checkOpen();
    if (messages.length === 0) return;
    const rows = messages.map((message) => [message, this.#headersOf(message)] as const);
    const { table } = this.#connect();
    const touched = new Set<string>();
    await this.#batcher.submit({
      run: () => {
        touched.clear();
        this.#refreshSubscriptions(table);
        const now = Date.now();
        for (const [message, headers] of rows) {
          for (const channel of this.#route(message.routingKey)) {
            table.insert(channel, message, headers, now);
            touched.add(channel);
          }
        }
      },
      after: () => {
        for (const channel of touched) this.#hub.notify(channel);
      },
      code: ErrorCode.SendFailed,
      what: 'publish failed',
    });
  }

  async consume(channel: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Subscription> {
    this.#checkOpen();
    checkChannel(channel);
    const settings = claimingSettings(options, this.#options.prefetch, this.#options.durableAck);
    this.#connect();
    if (this.#options.watch && this.#options.path !== ':memory:') this.#hub.watchWal(this.#options.path);
    this.#access ??= new TransportQueueAccess(() => this.#connect(), this.#batcher, this.#hub, this.#options);
    const consumer = new SqliteConsumer(this.#access, channel, handler, settings);
    const subscription = this.#consumers.add(consumer);
    consumer.start();
    return subscription;
  }

  /**
   * The dead-letter store in this database's `sy_dead_letters` table (one table for every
   * service; records carry their service). Over its own connection to the file, or the
   * transport's for `:memory:`; closing it never closes the transport.
   */
  deadLetterStore(_service: string): DeadLetterStore {
    const path = this.#options.path;
    return new SqliteDeadLetterStore(path === ':memory:' ? this.#connect().db : path, {
      busyTimeoutMs: this.#options.busyTimeoutMs,
    });
  }

  /** Depth and in-flight of each channel, counted in `sy_messages`; see {@link sqliteChannelStats}. */
  async channelStats(channels: readonly string[]): Promise<ChannelStats[]> {
    return sqliteChannelStats(this.#connect().db, channels);
  }

  async ping(): Promise<void> {
    const { db } = this.#connect();
    guard(ErrorCode.TransportUnavailable, `SQLite database '${this.#options.path}' does not answer`, () =>
      db.prepare('SELECT 1').get(),
    );
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#consumers.closeAll();
    await this.#batcher.drain();
    this.#hub.stopWatching();
    this.#closed = true;
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection?.db.open) connection.db.close();
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new TransportError(ErrorCode.Closed, 'the SQLite transport is closed');
  }

  #connect(): Connection {
    if (this.#closed) throw new TransportError(ErrorCode.Closed, 'the SQLite transport is closed');
    if (this.#connection === undefined) {
      // No busy handler: the group commit retries lock waits itself, finer than SQLite's
      // millisecond sleeps, and asynchronously beyond a slice (see retryBusy, BUSY_SLICE_MS).
      const db = openDatabase(this.#options.path, 0);
      try {
        const table = guard(ErrorCode.TransportUnavailable, 'cannot create the Switchyard tables', () =>
          withBusyTimeout(db, this.#options.busyTimeoutMs, () => new MessageTable(db)),
        );
        this.#connection = { db, table };
      } catch (error) {
        db.close();
        throw error;
      }
    }
    return this.#connection;
  }

  #headersOf(message: TransportMessage): string {
    return storedHeaders(message, this.#options.maxMessageBytes, 'SQLite');
  }

  #refreshSubscriptions(table: MessageTable): void {
    const version = table.subscriptionsVersion();
    if (version === this.#subscriptionsVersion) return;
    this.#subscriptions = table.subscriptions();
    this.#subscriptionsVersion = version;
    this.#routes.clear();
  }

  /** Channels subscribed to `routingKey`, each once; memoized per subscription version. */
  #route(routingKey: string): readonly string[] {
    let channels = this.#routes.get(routingKey);
    if (channels === undefined) {
      const set = new Set<string>();
      for (const { channel, pattern } of this.#subscriptions) {
        if (matchesPattern(pattern, routingKey)) set.add(channel);
      }
      channels = [...set];
      if (this.#routes.size < 10_000) this.#routes.set(routingKey, channels);
    }
    return channels;
  }
}

/**
 * Build a {@link SqliteTransport} from a `sqlite:` URL (see {@link parseSqliteUrl}
 * for the forms and options). Core calls it for `sqlite:` transport URLs.
 * Throws a ConfigurationError for a malformed URL or invalid options.
 */
export function transportFromUrl(url: string): SqliteTransport {
  return new SqliteTransport(parseSqliteUrl(url));
}
