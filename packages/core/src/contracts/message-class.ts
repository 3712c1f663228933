import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import { ConfigurationError } from '../errors.js';
import type { MessageKind } from '../message/envelope.js';
import { type Contract, defineCommand, defineEvent, defineMessage, defineQuery } from './contract.js';

/**
 * Class-style messages: a class decorated with `@Command('order.place')`,
 * `@Event(...)`, `@Query(...)` or `@Message(...)` (TC39 standard decorators, no
 * reflect-metadata). Its instances are sent as JSON of their own enumerable
 * fields, and handlers receive real instances again. A static `schema` (any
 * Standard Schema) on the class validates the fields on send and on receive.
 */

/** Any class whose instances can be messages. */
// biome-ignore lint/suspicious/noExplicitAny: constructor parameters are irrelevant to routing
export type MessageClass<T extends object = object> = abstract new (...args: any[]) => T;

const contracts = new WeakMap<MessageClass, Contract<MessageKind, StandardSchemaV1<unknown, object>>>();

function classDecorator(kind: MessageKind, name: string) {
  return <C extends MessageClass>(target: C, context: ClassDecoratorContext<C>): void => {
    if (context.kind !== 'class') throw new ConfigurationError(`@${kind} decorates a class`);
    // Static fields are initialized after class decorators run, so the schema is read when validating.
    const schema = instanceSchema(target, () => (target as { schema?: StandardSchemaV1 }).schema);
    const define: Record<MessageKind, (name: string, schema: StandardSchemaV1<unknown, object>) => Contract> = {
      command: defineCommand,
      event: defineEvent,
      query: defineQuery,
      message: defineMessage,
      reply: defineMessage,
    };
    contracts.set(target, define[kind](name, schema) as Contract<MessageKind, StandardSchemaV1<unknown, object>>);
  };
}

/** Registers a class as the command `name`. */
export const Command = (name: string) => classDecorator('command', name);
/** Registers a class as the event `name`. */
export const Event = (name: string) => classDecorator('event', name);
/** Registers a class as the query `name`. */
export const Query = (name: string) => classDecorator('query', name);
/** Registers a class as the plain message `name`. */
export const Message = (name: string) => classDecorator('message', name);

/** The contract of a decorated class; throws a ConfigurationError naming the fix when it is not decorated. */
export function contractOfClass<T extends object>(
  type: MessageClass<T>,
): Contract<MessageKind, StandardSchemaV1<unknown, T>> {
  const contract = contracts.get(type);
  if (!contract) {
    throw new ConfigurationError(
      `class ${type.name} is not a registered message: decorate it with @Command('name'), @Event('name'), @Query('name') or @Message('name')`,
    );
  }
  return contract as Contract<MessageKind, StandardSchemaV1<unknown, T>>;
}

/** The contract of a message instance's class, or undefined when its class is not registered. */
export function contractOfInstance(value: unknown): Contract | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  return contracts.get(value.constructor as MessageClass);
}

/** True when `value` is a class registered as a message. */
export function isMessageClass(value: unknown): value is MessageClass {
  return typeof value === 'function' && contracts.has(value as MessageClass);
}

function instanceSchema(
  type: MessageClass,
  fieldsOf: () => StandardSchemaV1 | undefined,
): StandardSchemaV1<unknown, object> & StandardJSONSchemaV1<unknown, object> {
  const toInstance = (value: unknown): StandardSchemaV1.Result<object> => {
    if (value instanceof type) return { value };
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { issues: [{ message: `expected an object for ${type.name}` }] };
    }
    return { value: Object.assign(Object.create(type.prototype) as object, value) };
  };
  // Standard JSON Schema: the static schema's when it offers one (tools such as AsyncAPI generation read it).
  const jsonSchema = (side: 'input' | 'output') => (options: StandardJSONSchemaV1.Options) => {
    const fields = fieldsOf() as (StandardSchemaV1 & Partial<StandardJSONSchemaV1>) | undefined;
    if (fields === undefined) return { type: 'object' };
    if (fields['~standard'].jsonSchema === undefined) {
      throw new ConfigurationError(
        `the static schema of class ${type.name} (${fields['~standard'].vendor}) offers no JSON Schema (~standard.jsonSchema)`,
      );
    }
    return fields['~standard'].jsonSchema[side](options);
  };
  return {
    '~standard': {
      version: 1,
      vendor: 'switchyard-class',
      jsonSchema: { input: jsonSchema('input'), output: jsonSchema('output') },
      validate(value) {
        const fields = fieldsOf();
        if (!fields) return toInstance(value);
        const plain = value instanceof type ? { ...value } : value;
        const result = fields['~standard'].validate(plain);
        const finish = (r: StandardSchemaV1.Result<unknown>) => (r.issues ? { issues: r.issues } : toInstance(r.value));
        return result instanceof Promise ? result.then(finish) : finish(result);
      },
    },
  };
}
