import { ConfigurationError } from '../errors.js';
import type { HandlerRegistry } from './registry.js';
import type { Handler, HandlerOptions, MessageRef } from './types.js';

/**
 * Handler classes with TC39 standard decorators (no reflect-metadata, no
 * experimentalDecorators):
 *
 * ```ts
 * class Orders {
 *   @CommandHandler(PlaceOrder) @Distributed()
 *   async place(command: PlaceOrderPayload, ctx: HandlerContext) { ... }
 *
 *   @EventHandler('order.*') @Distributed() @Asynchronous('audit')
 *   async audit(event: unknown) { ... }
 * }
 * service.register(new Orders());
 * ```
 *
 * Decorators only record metadata on the method; `register` reads it and
 * binds the methods to the instance.
 */

interface MethodMeta {
  targets: Array<{ target: MessageRef | string; options: HandlerOptions }>;
  distributed?: boolean;
  asynchronous?: string;
}

const meta = new WeakMap<object, MethodMeta>();

function metaOf(method: object): MethodMeta {
  let entry = meta.get(method);
  if (!entry) {
    entry = { targets: [] };
    meta.set(method, entry);
  }
  return entry;
}

// TypeScript's ClassMethodDecoratorContext constrains the method to `(...args: any) => any`.
// biome-ignore lint/suspicious/noExplicitAny: a decorator must accept methods of any parameter types
type AnyMethod = (...args: any[]) => unknown;
/** A standard (TC39) method decorator that accepts any handler-shaped method and returns it unchanged. */
export type MethodDecorator = <M extends AnyMethod>(
  method: M,
  context: ClassMethodDecoratorContext<unknown, M>,
) => void;

function handlerDecorator(
  kindLabel: string,
  target: MessageRef | string,
  options: HandlerOptions = {},
): MethodDecorator {
  return (method, context) => {
    if (context.kind !== 'method') throw new ConfigurationError(`@${kindLabel} decorates a method`);
    metaOf(method).targets.push({ target, options: { name: options.name ?? String(context.name), ...options } });
  };
}

/** Marks a method as the handler of a command (contract or decorated class). */
export const CommandHandler = (command: MessageRef, options?: HandlerOptions): MethodDecorator =>
  handlerDecorator('CommandHandler', command, options);
/** Marks a method as a handler of an event, or of every event matching a pattern such as `order.*`. */
export const EventHandler = (event: MessageRef | string, options?: HandlerOptions): MethodDecorator =>
  handlerDecorator('EventHandler', event, options);
/** Marks a method as the handler of a query; its return value is the result. */
export const QueryHandler = (query: MessageRef, options?: HandlerOptions): MethodDecorator =>
  handlerDecorator('QueryHandler', query, options);

/** The handler also receives its messages from the broker (sent by other services). */
export function Distributed(): MethodDecorator {
  return (method) => {
    metaOf(method).distributed = true;
  };
}

/**
 * The handler runs asynchronously: the local bus enqueues its messages on this service's own
 * channel, addressed to `endpoint`, and the service's consumer runs them with retries and dead letter.
 */
export function Asynchronous(endpoint: string): MethodDecorator {
  if (typeof endpoint !== 'string' || endpoint.length === 0)
    throw new ConfigurationError('@Asynchronous needs an endpoint name');
  return (method) => {
    metaOf(method).asynchronous = endpoint;
  };
}

/** Register every decorated method of `instance` (and its prototype chain); returns how many. */
export function registerDecorated(registry: HandlerRegistry, instance: object): number {
  let count = 0;
  const seen = new Set<string>();
  for (
    let proto = Object.getPrototypeOf(instance);
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (seen.has(key)) continue;
      seen.add(key);
      const method = (proto as Record<string, unknown>)[key];
      if (typeof method !== 'function') continue;
      const entry = meta.get(method);
      if (!entry) continue;
      const bound = (method as Handler).bind(instance);
      for (const { target, options } of entry.targets) {
        const merged: HandlerOptions = {
          ...options,
          ...(entry.distributed !== undefined && options.distributed === undefined
            ? { distributed: entry.distributed }
            : {}),
          ...(entry.asynchronous !== undefined && options.asynchronous === undefined
            ? { asynchronous: entry.asynchronous }
            : {}),
        };
        registry.add(target, bound, merged);
        count++;
      }
    }
  }
  if (count === 0) {
    throw new ConfigurationError(
      `${instance.constructor.name} has no decorated handler methods: use @CommandHandler, @EventHandler or @QueryHandler`,
    );
  }
  return count;
}
