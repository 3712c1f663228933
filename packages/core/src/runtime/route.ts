import { ErrorCode, PoisonMessageError } from '../errors.js';
import type { HandlerRegistration, HandlerRegistry } from '../handlers/registry.js';
import type { Envelope } from '../message/envelope.js';
import type { OwnInbox } from '../resilience/failures.js';

/**
 * The handlers of this service that a received message goes to. Throws a
 * PoisonMessageError (the message is dead-lettered, never retried) when it is
 * addressed to another service (`SY_MISADDRESSED`) or nothing here handles it
 * (`SY_NO_HANDLER`). An event may reach no handler at all when the transport
 * filters patterns on the client side: the consumer sees every event and acks
 * those that are not for it. Pure: reads the registry, changes nothing.
 */
export function route(envelope: Envelope, registry: HandlerRegistry, inbox: OwnInbox): readonly HandlerRegistration[] {
  const h = envelope.headers;
  if (h.kind !== 'event' && h.targetService !== inbox.service) {
    throw new PoisonMessageError(
      ErrorCode.Misaddressed,
      `${h.kind} '${h.name}' is addressed to '${h.targetService ?? '(none)'}', not to this service '${inbox.service}'`,
    );
  }
  if (h.targetHandler !== undefined) {
    const handler = registry.byId(h.targetHandler);
    if (!handler)
      throw new PoisonMessageError(
        ErrorCode.NoHandler,
        `handler '${h.targetHandler}' is not registered in '${inbox.service}'`,
      );
    return [handler];
  }
  switch (h.kind) {
    case 'command':
    case 'query': {
      const handler = registry.single(h.name);
      if (handler?.distributed) return [handler];
      throw new PoisonMessageError(
        ErrorCode.NoHandler,
        `${h.kind} '${h.name}' has no distributed handler in '${inbox.service}'`,
      );
    }
    case 'event': {
      const handlers = registry.events(h.name).filter((handler) => handler.distributed);
      if (handlers.length > 0 || inbox.transport.capabilities.patternFiltering === 'client') return handlers;
      throw new PoisonMessageError(
        ErrorCode.NoHandler,
        `event '${h.name}' has no distributed handler in '${inbox.service}'`,
      );
    }
    case 'message': {
      const handlers = registry.channel(h.channel ?? h.name);
      if (handlers.length > 0) return handlers;
      throw new PoisonMessageError(
        ErrorCode.NoHandler,
        `channel '${h.channel ?? h.name}' has no handler in '${inbox.service}'`,
      );
    }
    default:
      throw new PoisonMessageError(ErrorCode.NoHandler, `${h.kind} messages are not handled by '${inbox.service}'`);
  }
}
