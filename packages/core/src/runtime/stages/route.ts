import { ErrorCode, PoisonMessageError } from '../../errors.js';
import type { HandlerRegistration, HandlerRegistry } from '../../handlers/registry.js';
import type { Envelope } from '../../message/envelope.js';
import type { TransportCapabilities } from '../../transport/types.js';
import type { DeliveryRun, Stage } from './pipeline.js';

/** What routing needs to know about the receiving service. */
export interface RouteScope {
  /** This service's name: commands, queries and plain messages must be addressed to it. */
  readonly service: string;
  /** `client`: the channel receives every event and acks those no handler wants. */
  readonly patternFiltering: TransportCapabilities['patternFiltering'];
}

/**
 * Route the decoded envelope to `run.handlers` (see {@link route}). A
 * PoisonMessageError (`SY_MISADDRESSED`, `SY_NO_HANDLER`) goes to the
 * dead-letter stage; never retried.
 */
export function routeStage(registry: HandlerRegistry, scope: RouteScope): Stage<DeliveryRun> {
  return {
    name: 'route',
    wrap: (next) => (run) => {
      if (run.envelope === undefined) throw new Error('the route stage needs the decode stage before it');
      run.handlers = route(run.envelope, registry, scope);
      return next(run);
    },
  };
}

/**
 * The handlers of this service that a received message goes to. Throws a
 * PoisonMessageError (the message is dead-lettered, never retried) when it is
 * addressed to another service (`SY_MISADDRESSED`) or nothing here handles it
 * (`SY_NO_HANDLER`). An event may reach no handler at all when the transport
 * filters patterns on the client side: the consumer sees every event and acks
 * those that are not for it. Pure: reads the registry, changes nothing.
 */
export function route(
  envelope: Envelope,
  registry: HandlerRegistry,
  scope: RouteScope,
): readonly HandlerRegistration[] {
  const h = envelope.headers;
  if (h.kind !== 'event' && h.targetService !== scope.service) {
    throw new PoisonMessageError(
      ErrorCode.Misaddressed,
      `${h.kind} '${h.name}' is addressed to '${h.targetService ?? '(none)'}', not to this service '${scope.service}'`,
    );
  }
  if (h.targetHandler !== undefined) {
    const handler = registry.byId(h.targetHandler);
    if (!handler)
      throw new PoisonMessageError(
        ErrorCode.NoHandler,
        `handler '${h.targetHandler}' is not registered in '${scope.service}'`,
      );
    return [handler];
  }
  switch (h.kind) {
    case 'command':
    case 'query': {
      const handlers = registry.singleList(h.name);
      if (handlers?.[0].distributed) return handlers;
      throw new PoisonMessageError(
        ErrorCode.NoHandler,
        `${h.kind} '${h.name}' has no distributed handler in '${scope.service}'`,
      );
    }
    case 'event': {
      const handlers = registry.events(h.name).filter((handler) => handler.distributed);
      if (handlers.length > 0 || scope.patternFiltering === 'client') return handlers;
      throw new PoisonMessageError(
        ErrorCode.NoHandler,
        `event '${h.name}' has no distributed handler in '${scope.service}'`,
      );
    }
    case 'message': {
      const handlers = registry.endpoint(h.endpoint ?? h.name);
      if (handlers.length > 0) return handlers;
      throw new PoisonMessageError(
        ErrorCode.NoHandler,
        `endpoint '${h.endpoint ?? h.name}' has no handler in '${scope.service}'`,
      );
    }
    default:
      throw new PoisonMessageError(ErrorCode.NoHandler, `${h.kind} messages are not handled by '${scope.service}'`);
  }
}
