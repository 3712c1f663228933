import type { ConnectionState } from '@switchyard/core/transport';

/**
 * The seam between the transport and a Kafka client library. The transport
 * only uses these primitives, so another client with a KafkaJS-like API
 * (e.g. `@confluentinc/kafka-javascript`) can replace kafkajs by implementing
 * {@link KafkaClient} without touching the consumer or transport logic.
 *
 * Every method rejects with a `TransportError` from `@switchyard/core`, never
 * with the library's own error.
 */

/** A record to append. Header values are UTF-8 strings. */
export interface OutgoingRecord {
  readonly topic: string;
  /** Partition key; records without one are spread over partitions. */
  readonly key?: string;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/** A record read from one partition. */
export interface IncomingRecord {
  /** int64 offset as a decimal string, as Kafka clients report it. */
  readonly offset: string;
  readonly key: string | undefined;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** Record timestamp, epoch ms. */
  readonly timestamp: number;
}

/** Records of one partition in offset order. */
export interface IncomingBatch {
  readonly topic: string;
  readonly partition: number;
  /**
   * The offset this batch's fetch asked for (decimal string): the client's
   * position for the partition when the fetch was built. A batch that does not
   * continue the consumer's own position was fetched in an earlier generation.
   */
  readonly fetchedOffset: string;
  readonly records: readonly IncomingRecord[];
}

/** What a batch handler may do while it runs. */
export interface BatchControl {
  /** Tell the client that `offset` was taken, so the next fetch starts after it (not a commit). */
  markTaken(offset: string): void;
  /** False once the batch is stale (rebalance, seek) or the consumer stops: take no more records. */
  isActive(): boolean;
}

/** Partitions assigned to this member after a (re)join, by topic. */
export type Assignment = Readonly<Record<string, readonly number[]>>;

/** Options for one consumer group member. */
export interface ConsumerSpec {
  readonly groupId: string;
  /** Topics to read; `fromBeginning` applies only where the group has no committed offset. */
  readonly topics: readonly {
    readonly topic: string;
    readonly fromBeginning: boolean;
    /**
     * Where to read each partition from, asked after every (re)join for each
     * partition assigned; an offset returned overrides `fromBeginning` and the
     * committed offset (a reply channel's own positions, which it never commits).
     */
    readonly positionOf?: (partition: number) => string | undefined;
  }[];
  /** Partitions handled at the same time (batches of different partitions). */
  readonly partitionsConcurrently: number;
  /** Called for every fetched batch; must resolve quickly (the fetch loop waits for it). */
  onBatch(batch: IncomingBatch, control: BatchControl): Promise<void>;
  /** Called after every group (re)join with the new assignment; earlier generations are void. */
  onAssignment(assignment: Assignment): void;
  /**
   * Called when the client moved its position past records up to `offset`
   * (inclusive) by itself, without handing them out: a fetch that held only
   * control records or aborted transactions.
   */
  onPassed?(topic: string, partition: number, offset: string): void;
}

/** One running member of a consumer group. */
export interface GroupConsumer {
  /** Stop fetching `partitions` of `topic` until {@link resume}; the group membership stays alive. */
  pause(topic: string, partitions: readonly number[]): void;
  resume(topic: string, partitions: readonly number[]): void;
  /**
   * Fetch `partition` from `offset` next; batches of it fetched before are
   * stale ({@link BatchControl.isActive} is false for them). Commits nothing.
   */
  seek(topic: string, partition: number, offset: string): void;
  /** Commit next-offsets-to-read. Rejects when the member no longer owns the generation. */
  commit(
    offsets: readonly { readonly topic: string; readonly partition: number; readonly offset: string }[],
  ): Promise<void>;
  /** Leave the group and disconnect. Idempotent. */
  stop(): Promise<void>;
}

/** The client primitives the Kafka transport needs. */
export interface KafkaClient {
  /** Append records; resolves once every broker acknowledged them with acks=all. */
  produce(records: readonly OutgoingRecord[]): Promise<void>;
  /**
   * Optional: open the producer's connection now rather than on the first
   * `produce`. Rejects like `produce` would; callers may ignore that, the
   * next `produce` connects again.
   */
  prepareProducer?(): Promise<void>;
  /** Create the topics that do not exist yet (idempotent). */
  ensureTopics(topics: readonly string[]): Promise<void>;
  /** Committed next-offsets of `groupId` on `topic`, by partition; -1 where the group never committed. */
  committedOffsets(groupId: string, topic: string): Promise<ReadonlyMap<number, bigint>>;
  /**
   * Optional: the offsets of each partition of `topic`, by partition: `low`
   * (the log start, first offset still kept) and `high` (the high watermark,
   * the next offset to be written). An empty map for a topic that does not
   * exist. Channel stats (lag) and the reply channels' start position read it.
   */
  topicOffsets(topic: string): Promise<ReadonlyMap<number, { readonly low: bigint; readonly high: bigint }>>;
  /** Join a consumer group; resolves once the member joined and got its first assignment. */
  startConsumer(spec: ConsumerSpec): Promise<GroupConsumer>;
  /** Rejects when the cluster does not answer. */
  ping(): Promise<void>;
  /** Optional: report the cluster connection's changes, as `Transport.watchConnection`. */
  watchConnection?(listener: (state: ConnectionState) => void): () => void;
  /** Disconnect the producer and admin (consumers are stopped by their owners first). Idempotent. */
  close(): Promise<void>;
}
