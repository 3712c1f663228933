/** Told once per handled message with the time its payload says it was sent. */
export type OnHandled = (sentAt: number) => void;

/** A running consumer of one run; `stop` closes its connection (and cleans what it created). */
export interface RunningConsumer {
  stop(): Promise<void>;
}

/** Starts one kind of consumer from its options (plain data when it crosses into the worker thread). */
export type ConsumerStarter = (options: never, onHandled: OnHandled) => Promise<RunningConsumer>;

/**
 * Which consumer a run uses and its options. The same description starts it
 * in the main thread or in the consumer thread, so both sides of a
 * comparison build their consumer the same way in either layout.
 */
export interface ConsumerSpec {
  readonly kind: keyof typeof starters;
  readonly options: object;
}

/** Loaded on demand: a thread imports only the drivers of the consumers it runs. */
const starters = {
  framework: async () => (await import('./bench-consumer.js')).startBenchConsumer,
  'raw-memory': async () => (await import('./raw/memory.js')).startRawMemoryConsumer,
  'raw-rabbitmq': async () => (await import('./raw/rabbitmq.js')).startRawRabbitConsumer,
  'raw-redis': async () => (await import('./raw/redis.js')).startRawRedisConsumer,
  'raw-sqs': async () => (await import('./raw/sqs.js')).startRawSqsConsumer,
  'raw-kafka': async () => (await import('./raw/kafka.js')).startRawKafkaConsumer,
  'raw-sqlite': async () => (await import('./raw/sqlite.js')).startRawSqliteConsumer,
  'raw-nats': async () => (await import('./raw/nats.js')).startRawNatsConsumer,
  'raw-postgres': async () => (await import('./raw/postgres.js')).startRawPostgresConsumer,
  'peer-graphile': async () => (await import('./raw/graphile.js')).startGraphileConsumer,
  'peer-nest': async () => (await import('./peers/nest.js')).startNestConsumer,
  'peer-golevelup': async () => (await import('./peers/golevelup.js')).startGolevelupConsumer,
} satisfies Record<string, () => Promise<(options: never, onHandled: OnHandled) => Promise<RunningConsumer>>>;

/** Start the consumer `spec` describes, in the calling thread. */
export async function startConsumer(spec: ConsumerSpec, onHandled: OnHandled): Promise<RunningConsumer> {
  const start = (await starters[spec.kind]()) as (options: object, onHandled: OnHandled) => Promise<RunningConsumer>;
  return start(spec.options, onHandled);
}
