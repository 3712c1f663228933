import type { ICustomPartitioner, Message, PartitionerArgs } from 'kafkajs';

/**
 * Wraps a kafkajs partitioner so that a message keeps the partition it was
 * first given for as long as its object lives.
 *
 * Why: kafkajs partitions a `sendBatch` again on every retry, but skips the
 * brokers that already answered. Its default partitioner spreads keyless
 * messages round-robin with a counter that keeps moving, so after one broker
 * failed and another succeeded, the retry maps some messages onto partitions
 * of the broker that succeeded (never sent: lost, while the send resolves) and
 * others onto the failed one (sent twice). With the partition fixed per
 * message, a retry resends exactly what was not stored, as the Java client
 * does. Keyed messages hash to the same partition anyway.
 *
 * Per producer (each `createPartitioner()` call has its own memory); the memory
 * is weak, so it holds no message after kafkajs let go of it.
 */
export function stablePartitioner(create: ICustomPartitioner): ICustomPartitioner {
  return () => {
    const partitioner = create();
    const chosen = new WeakMap<Message, number>();
    return (args: PartitionerArgs) => {
      const known = chosen.get(args.message);
      if (known !== undefined) return known;
      const partition = partitioner(args);
      chosen.set(args.message, partition);
      return partition;
    };
  };
}
