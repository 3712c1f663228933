import {
  type ChannelTopology,
  describeError,
  ErrorCode,
  type Topology,
  TransportError,
  validatePattern,
} from '@switchyard/core/transport';
import type { ConfirmChannel, GetMessage, Options } from 'amqplib';
import type { ConnectionManager } from './connection-manager.js';
import { helperName, ReplyCode, replyCode, withChannel } from './ops-channel.js';
import { checkChannelName, type RabbitMqQueueType } from './options.js';

/** What {@link TopologyManager} needs. */
export interface TopologySettings {
  readonly exchange: string;
  readonly queueType: RabbitMqQueueType;
  readonly timeoutMs: number;
}

/** Most records read back from a state queue in one provision; more would mean something else writes there. */
const MAX_RECORDS = 1_000;

/**
 * Declares channel queues and keeps their event bindings exactly as listed.
 *
 * Removing stale bindings needs to know what was bound before, and AMQP 0-9-1
 * cannot list bindings (only the management plugin can). So every channel
 * has a durable state queue `<exchange>.topology.<channel>` holding a record
 * of the patterns that may be bound. `provision` holds a broker-wide lock
 * (an exclusive queue `<exchange>.lock.<channel>`, released by the broker if
 * the process dies), reads the records without acking them, writes a record
 * of the new set (confirmed), binds the new set, unbinds the rest, and only
 * then acks the old records. A crash at any point leaves records that name a
 * superset of the actual bindings, so the next provision still removes them.
 */
export class TopologyManager {
  readonly #connection: ConnectionManager;
  readonly #settings: TopologySettings;
  readonly #ensured = new Map<string, Promise<void>>();
  /** Queues whose declaration succeeded and was not forgotten since: a send to one need not wait a turn. */
  readonly #declared = new Set<string>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(connection: ConnectionManager, settings: TopologySettings) {
    this.#connection = connection;
    this.#settings = settings;
  }

  /** Declare arguments of a channel queue. */
  queueOptions(): Options.AssertQueue {
    return this.#settings.queueType === 'quorum'
      ? { durable: true, arguments: { 'x-queue-type': 'quorum' } }
      : { durable: true };
  }

  /**
   * Make sure queue `name` exists, declaring it with this transport's queue
   * type if not. Cached per process; a queue that exists with other arguments
   * (declared by its owner as quorum, say) counts as existing.
   */
  ensureQueue(name: string): Promise<void> {
    let ensured = this.#ensured.get(name);
    if (!ensured) {
      const declared: Promise<void> = this.#declare(name, false).then(
        () => {
          if (this.#ensured.get(name) === declared) this.#declared.add(name);
        },
        (error: unknown) => {
          this.#ensured.delete(name);
          throw error;
        },
      );
      ensured = declared;
      this.#ensured.set(name, ensured);
    }
    return ensured;
  }

  /** True when `ensureQueue(name)` would resolve at once (declared, not forgotten since). */
  isEnsured(name: string): boolean {
    return this.#declared.has(name);
  }

  /** Forget that `name` was declared (it was deleted behind our back); the next `ensureQueue` declares again. */
  forget(name: string): void {
    this.#ensured.delete(name);
    this.#declared.delete(name);
  }

  /** Declare every channel of `topology` and make its bindings exactly its subscriptions. Idempotent. */
  async provision(topology: Topology): Promise<void> {
    for (const channel of topology.channels) {
      checkChannelName(channel.name);
      for (const pattern of channel.subscriptions) validatePattern(pattern);
    }
    for (const channel of topology.channels) {
      await this.#declare(channel.name, true);
      this.#ensured.set(channel.name, Promise.resolve());
      this.#declared.add(channel.name);
      await this.#serialized(channel.name, () => this.#syncBindings(channel));
    }
  }

  async #declare(name: string, strict: boolean): Promise<void> {
    await withChannel(this.#connection, this.#settings.timeoutMs, `declare queue '${name}'`, async (channel) => {
      try {
        await channel.assertQueue(name, this.queueOptions());
      } catch (error) {
        if (replyCode(error) !== ReplyCode.preconditionFailed) throw error;
        if (!strict) return;
        throw new TransportError(
          ErrorCode.Configuration,
          `RabbitMQ queue '${name}' already exists with other arguments than a durable ${this.#settings.queueType} queue (another queueType?): delete it or use the same queueType. ${describeError(error)}`,
          { cause: error },
        );
      }
    });
  }

  /** In-process mutual exclusion per channel; the broker-wide lock cannot exclude our own connection. */
  async #serialized<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.#locks.set(name, next);
    try {
      return await next;
    } finally {
      if (this.#locks.get(name) === next) this.#locks.delete(name);
    }
  }

  async #syncBindings(topology: ChannelTopology): Promise<void> {
    const { exchange, timeoutMs } = this.#settings;
    const lock = helperName(exchange, 'lock', topology.name);
    await this.#acquireLock(lock);
    try {
      await withChannel(this.#connection, timeoutMs, `bind queue '${topology.name}'`, async (channel) => {
        const state = helperName(exchange, 'topology', topology.name);
        // Normally declared on connect; again here so a deleted exchange cannot fail a provision.
        await channel.assertExchange(exchange, 'topic', { durable: true });
        await channel.assertQueue(state, { durable: true });
        const { records, patterns: previous } = await readRecords(channel, state);
        const wanted = [...new Set(topology.subscriptions)].sort();
        // Record first, so that no binding exists that no record names.
        channel.publish('', state, Buffer.from(JSON.stringify({ v: 1, patterns: wanted })), { persistent: true });
        await channel.waitForConfirms();
        for (const pattern of wanted) await channel.bindQueue(topology.name, exchange, pattern);
        for (const pattern of previous) {
          if (!wanted.includes(pattern)) await channel.unbindQueue(topology.name, exchange, pattern);
        }
        for (const record of records) channel.ack(record);
      });
    } finally {
      await withChannel(this.#connection, timeoutMs, `release lock '${lock}'`, (channel) =>
        channel.deleteQueue(lock),
      ).catch(() => undefined);
    }
  }

  /** Declare the exclusive lock queue, waiting while another connection holds it. */
  async #acquireLock(lock: string): Promise<void> {
    const deadline = Date.now() + this.#settings.timeoutMs;
    for (;;) {
      try {
        await withChannel(this.#connection, this.#settings.timeoutMs, `take lock '${lock}'`, (channel) =>
          channel.assertQueue(lock, { exclusive: true, durable: false }),
        );
        return;
      } catch (error) {
        if (replyCode((error as { cause?: unknown }).cause) !== ReplyCode.resourceLocked) throw error;
        if (Date.now() >= deadline) {
          throw new TransportError(ErrorCode.Timeout, `RabbitMQ: lock '${lock}' stayed taken by another process`, {
            cause: error,
          });
        }
        await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 150));
      }
    }
  }
}

async function readRecords(
  channel: ConfirmChannel,
  state: string,
): Promise<{ records: GetMessage[]; patterns: Set<string> }> {
  const records: GetMessage[] = [];
  const patterns = new Set<string>();
  while (records.length < MAX_RECORDS) {
    const record = await channel.get(state, { noAck: false });
    if (record === false) break;
    records.push(record);
    for (const pattern of parseRecord(record.content)) patterns.add(pattern);
  }
  return { records, patterns };
}

function parseRecord(content: Buffer): string[] {
  try {
    const parsed: unknown = JSON.parse(content.toString('utf8'));
    const list = (parsed as { patterns?: unknown } | null)?.patterns;
    return Array.isArray(list) ? list.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}
