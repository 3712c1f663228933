/**
 * `@switchyard/sqlite`: the embedded durable transport and the SQLite stores
 * (dead letters, inbox, outbox). Everything can share one database file.
 */

export { type DatabaseSource, openDatabase, type SqliteDatabase } from './database.js';
export { SqliteDeadLetterStore } from './dead-letter-store.js';
export { SqliteInboxStore, type SqliteInboxStoreOptions } from './inbox-store.js';
export { parseSqliteUrl, type SqliteTransportOptions } from './options.js';
export { SqliteOutboxStore, type SqliteOutboxStoreOptions } from './outbox-store.js';
export { SqliteTransport, transportFromUrl } from './sqlite-transport.js';
export type { SqliteStoreOptions } from './store-connection.js';
