import { type ConnectionWatch, describeError } from '@switchyard/core/transport';
import type { Batch, Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { ConsumerSpec, GroupConsumer, IncomingRecord } from './client.js';
import { closed, unavailable } from './kafkajs-errors.js';
import type { ResolvedKafkaOptions } from './options.js';

/** What a group consumer needs from the client that owns it. */
export interface MemberHost {
  readonly kafka: Kafka;
  readonly options: ResolvedKafkaOptions;
  /** Every member connected now, so that closing the client disconnects them all. */
  readonly members: Set<Consumer>;
  /** True once the client is closed: no member is launched or replaced after that. */
  isClosed(): boolean;
  /** Where members report answered and failed requests. */
  readonly connection: ConnectionWatch;
}

/**
 * {@link KafkaClient.startConsumer} on kafkajs: one group member, replaced by
 * a new one whenever kafkajs gives up on it.
 */
export async function startGroupConsumer(host: MemberHost, spec: ConsumerSpec): Promise<GroupConsumer> {
  if (host.isClosed()) throw closed();
  let stopped = false;
  let restarting: Promise<void> | undefined;
  let current: Consumer | undefined;
  // A member that crashed fatally before it became `current` (during its own launch).
  let crashedEarly: Consumer | undefined;
  // kafkajs gives up on a member after a crash it deems fatal (restart: false), e.g. retries
  // exhausted while the brokers were away. Consumers must resume by themselves, so the member
  // is replaced by a new one, with backoff, until one joins and stays or the consumer is stopped.
  const replace = (dead: Consumer) => {
    // Crashed during its own launch, or while a replacement is under way: the restart loop (or
    // its end, below) looks at it, so that no crash goes unanswered.
    if (dead !== current || restarting !== undefined) {
      crashedEarly = dead;
      return;
    }
    if (stopped || host.isClosed()) return;
    restarting = (async () => {
      for (let delay = 250; !stopped && !host.isClosed(); delay = Math.min(delay * 2, 10_000)) {
        const previous = current as Consumer;
        host.members.delete(previous);
        await previous.disconnect().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (stopped || host.isClosed()) return;
        try {
          current = await launchMember(host, spec, replace);
          if (crashedEarly !== current) return;
        } catch (error) {
          host.options.logger?.({
            level: 'warn',
            message: `kafka consumer ${spec.groupId} could not rejoin; retrying`,
            extra: { error: describeError(error) },
          });
        }
      }
    })().finally(() => {
      restarting = undefined;
      if (crashedEarly === current && current !== undefined) replace(current);
    });
  };
  current = await launchMember(host, spec, replace);
  if (crashedEarly === current) replace(current);
  let stopping: Promise<void> | undefined;
  return {
    pause: (topic, partitions) => whileRunning(() => current?.pause([{ topic, partitions: [...partitions] }])),
    resume: (topic, partitions) => whileRunning(() => current?.resume([{ topic, partitions: [...partitions] }])),
    seek: (topic, partition, offset) => whileRunning(() => current?.seek({ topic, partition, offset })),
    commit: async (offsets) => {
      try {
        await (current as Consumer).commitOffsets(
          offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })),
        );
      } catch (error) {
        throw unavailable(`commit failed for group ${spec.groupId}`, error);
      }
    },
    stop: () => {
      stopped = true;
      stopping ??= (async () => {
        await restarting;
        const consumer = current as Consumer;
        await consumer.disconnect().catch(() => undefined);
        host.members.delete(consumer);
      })();
      return stopping;
    },
  };
}

/**
 * kafkajs throws from pause/resume/seek while a member is between a crash and
 * its relaunch ("consumer#run must be called first"). Such a member holds no
 * assignment, and the next one re-applies pauses and seeks when it joins, so
 * the call has nothing to act on and must not fail the caller (e.g. close).
 */
function whileRunning(action: () => void): void {
  try {
    action();
  } catch (error) {
    if (!(error instanceof Error) || !/must be called first|not initialized/i.test(error.message)) {
      throw error;
    }
  }
}

/** Create, connect, subscribe and run one group member; `onFatal` is told when kafkajs will not restart it. */
async function launchMember(
  host: MemberHost,
  spec: ConsumerSpec,
  onFatal: (consumer: Consumer) => void,
): Promise<Consumer> {
  if (host.isClosed()) throw closed();
  const o = host.options;
  const consumer = host.kafka.consumer({
    groupId: spec.groupId,
    sessionTimeout: o.sessionTimeoutMs,
    rebalanceTimeout: o.rebalanceTimeoutMs,
    heartbeatInterval: o.heartbeatIntervalMs,
    maxWaitTimeInMs: o.maxWaitTimeMs,
    allowAutoTopicCreation: true,
    retry: {
      retries: o.retry.retries,
      initialRetryTime: o.retry.initialRetryTimeMs,
      maxRetryTime: o.retry.maxRetryTimeMs,
    },
  });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const assignment = event.payload.memberAssignment;
    // Emitted before the generation's first fetch, which applies these seeks first.
    for (const { topic, positionOf } of spec.topics) {
      for (const partition of positionOf ? (assignment[topic] ?? []) : []) {
        const offset = positionOf?.(partition);
        if (offset !== undefined) consumer.seek({ topic, partition, offset });
      }
    }
    spec.onAssignment(assignment);
  });
  watchRequests(consumer, host.connection);
  // kafkajs resolves a batch of only control records or aborted transactions itself (its size is 0 then).
  consumer.on(consumer.events.START_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0) spec.onPassed?.(payload.topic, payload.partition, payload.lastOffset);
  });
  consumer.on(consumer.events.CRASH, (event) => {
    o.logger?.({
      level: 'error',
      message: `kafka consumer ${spec.groupId} crashed (restart: ${event.payload.restart})`,
      extra: { error: describeError(event.payload.error) },
    });
    if (!event.payload.restart) onFatal(consumer);
  });
  host.members.add(consumer);
  try {
    await consumer.connect();
    for (const { topic, fromBeginning } of spec.topics) await consumer.subscribe({ topic, fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: spec.partitionsConcurrently,
      eachBatch: async ({ batch, resolveOffset, isRunning, isStale }) => {
        await spec.onBatch(
          {
            topic: batch.topic,
            partition: batch.partition,
            fetchedOffset: fetchedOffset(batch),
            records: batch.messages.map(toIncoming),
          },
          { markTaken: resolveOffset, isActive: () => isRunning() && !isStale() },
        );
      },
    });
  } catch (error) {
    host.members.delete(consumer);
    await consumer.disconnect().catch(() => undefined);
    throw unavailable(`cannot join consumer group ${spec.groupId}`, error);
  }
  return consumer;
}

/**
 * kafkajs keeps the offset a batch was fetched from (`fetchedOffset`) but does
 * not declare it in its types; without it, the first record's offset is the
 * nearest thing (equal unless compaction removed records).
 */
function fetchedOffset(batch: Batch): string {
  const fetched = (batch as Batch & { fetchedOffset?: unknown }).fetchedOffset;
  if (typeof fetched === 'string' || typeof fetched === 'number') return String(fetched);
  return batch.firstOffset() ?? batch.lastOffset();
}

function toIncoming(message: KafkaMessage): IncomingRecord {
  const headers: Record<string, string> = {};
  const raw = message.headers;
  for (const name in raw) {
    const entry = raw[name];
    const value = Array.isArray(entry) ? entry[entry.length - 1] : entry;
    if (value !== undefined) headers[name] = typeof value === 'string' ? value : value.toString('utf8');
  }
  const value = message.value ?? Buffer.alloc(0);
  return {
    offset: message.offset,
    key: message.key === null || message.key === undefined ? undefined : message.key.toString('utf8'),
    value: new Uint8Array(value.buffer, value.byteOffset, value.byteLength),
    headers,
    timestamp: Number(message.timestamp),
  };
}

/** What kafkajs's admin, producer and consumer have in common for request events. */
interface RequestEvents {
  readonly events: { readonly REQUEST: string; readonly REQUEST_TIMEOUT: string };
  on(event: string, listener: () => void): unknown;
}

/** Every answered request of `client` tells `watch` the cluster is there; a timed-out one, that it may not be. */
export function watchRequests(client: RequestEvents, watch: ConnectionWatch): void {
  client.on(client.events.REQUEST, () => watch.up());
  client.on(client.events.REQUEST_TIMEOUT, () => watch.down(new Error('kafka: a request to the cluster timed out')));
}
