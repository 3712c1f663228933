import { existsSync } from 'node:fs';
import { ConfigurationError, type DeadLetterStore, ErrorCode, SwitchyardError } from '@switchyard/core';
import { parseSqliteUrl, SqliteDeadLetterStore } from '@switchyard/sqlite';
import type { CliConfig } from './config.js';

/** A dead-letter store the CLI opened; `close` releases it. */
export interface OpenStore {
  readonly url: string;
  readonly store: DeadLetterStore;
  close(): Promise<void>;
}

/**
 * Open the configured dead-letter store. Only `sqlite:` stores are supported
 * so far. The file must exist: the CLI never creates an empty store where
 * the services keep theirs elsewhere. Throws a ConfigurationError (nothing
 * configured, unsupported scheme) or SY_NOT_FOUND (no such file).
 */
export function openDeadLetterStore(config: CliConfig): OpenStore {
  const url = config.deadLetters;
  if (url === undefined) {
    throw new ConfigurationError(
      `no dead-letter store configured (config from ${config.source}): add "deadLetters": "sqlite:./switchyard.db" to switchyard.config.json or set SWITCHYARD_DEAD_LETTERS`,
    );
  }
  if (!url.startsWith('sqlite:')) {
    throw new ConfigurationError(`dead-letter store '${url}' is not supported by the CLI yet: use a sqlite: URL`);
  }
  const { path } = parseSqliteUrl(url);
  if (path !== ':memory:' && !existsSync(path)) {
    throw new SwitchyardError(
      ErrorCode.NotFound,
      `dead-letter database '${path}' does not exist: check "deadLetters" in the config, or run a service with this store first`,
    );
  }
  const store = new SqliteDeadLetterStore(path);
  return { url, store, close: () => store.close() };
}
