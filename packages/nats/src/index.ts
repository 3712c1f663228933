/** @switchyard/nats: a NATS JetStream transport (`nats://…`). */
export {};
