/**
 * @switchyard/postgres: a PostgreSQL transport (`postgres://…`) and the durable stores — outbox in
 * the application's own transaction, inbox, dead letters — on the `pg` driver.
 */

export { type ClientSource, type Migration, migrate, quoteSchema } from './migrations.js';
export { type PostgresTransportOptions, parsePostgresUrl } from './options.js';
export { PostgresTransport, transportFromUrl } from './postgres-transport.js';
