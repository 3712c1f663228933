/**
 * @switchyard/postgres: a PostgreSQL transport (`postgres://…`) and the durable stores — outbox in
 * the application's own transaction, inbox, dead letters — on the `pg` driver.
 */

export { type ClientSource, type Migration, migrate, quoteSchema } from './migrations.js';
export { type PostgresTransportOptions, parsePostgresUrl } from './options.js';
export { PostgresTransport, transportFromUrl } from './postgres-transport.js';
export type { PostgresStoreOptions, PostgresStoreSource, Queryable } from './stores/connection.js';
export { PostgresDeadLetterStore } from './stores/dead-letter-store.js';
export { PostgresInboxStore, type PostgresInboxStoreOptions, pgTransaction } from './stores/inbox-store.js';
export { PostgresOutboxStore, type PostgresOutboxStoreOptions } from './stores/outbox-store.js';
