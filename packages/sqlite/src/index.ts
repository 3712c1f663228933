/**
 * `@switchyard/sqlite`: the embedded durable transport and the SQLite stores
 * (dead letters, inbox, outbox). Everything can share one database file.
 */

export { type DatabaseSource, openDatabase, type SqliteDatabase } from './database.js';
export { parseSqliteUrl, type SqliteTransportOptions } from './options.js';
export { SqliteTransport, transportFromUrl } from './sqlite-transport.js';
