import { ConfigurationError } from '../errors.js';
import type { HandlerRegistry } from '../handlers/registry.js';
import type { InboxStore } from '../resilience/stores.js';
import type { ServiceOptions } from './options.js';

/** Throws a ConfigurationError that says what to change for a bad name, number or transport choice. */
export function validateServiceOptions(options: ServiceOptions): void {
  if (typeof options?.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(options.name)) {
    throw new ConfigurationError(
      `service name '${String(options?.name)}' is invalid: use letters, digits, '.', '_' and '-'`,
    );
  }
  for (const field of [
    'concurrency',
    'prefetch',
    'maxMessageBytes',
    'drainTimeoutMs',
    'connectTimeoutMs',
    'replyChannelExpiryMs',
  ] as const) {
    const value = options[field];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new ConfigurationError(`${field} must be a positive integer, got ${value}`);
    }
  }
  if (options.transport !== undefined && options.transports !== undefined) {
    throw new ConfigurationError("pass either 'transport' (one broker) or 'transports' (several), not both");
  }
}

/**
 * Every handler asking for a transactional inbox needs a store that can run
 * one; throws a ConfigurationError naming the first handler that asks in vain.
 */
export function checkTransactionalInbox(registry: HandlerRegistry, inbox: InboxStore | undefined): void {
  if (inbox?.processInTransaction !== undefined) return;
  const asking = registry.all().find((handler) => handler.transactionalInbox);
  if (asking === undefined) return;
  throw new ConfigurationError(
    `handler '${asking.id}' asks for transactionalInbox, but the service's inbox store cannot run the handler and its record in one transaction: pass an inbox store that implements processInTransaction (SqliteInboxStore, or the PostgreSQL inbox)`,
  );
}
