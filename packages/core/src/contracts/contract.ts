import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ConfigurationError } from '../errors.js';
import type { MessageKind } from '../message/envelope.js';
import { validatePattern } from '../routing/pattern.js';

/**
 * A message contract: the name that crosses the wire, the kind, and one
 * Standard Schema (zod, valibot, arktype, …) that gives both the TypeScript
 * type and the runtime validation. Contracts are plain immutable values,
 * shared between services in a contracts module.
 */
export interface Contract<K extends MessageKind = MessageKind, S extends StandardSchemaV1 = StandardSchemaV1> {
  readonly name: string;
  readonly kind: K;
  readonly schema: S;
  /** Schema version (an integer ≥ 1), sent as `ce-dataschema`; absent = version 1, no header. See {@link ContractOptions}. */
  readonly version?: number;
  /** Upcasters by source version: `upcast[n]` turns a version-n payload into a version-(n+1) one. */
  readonly upcast?: Readonly<Record<number, Upcaster>>;
}

/** Turns the payload of one contract version into the next version's; it must not throw for valid input. */
export type Upcaster = (payload: unknown) => unknown;

/**
 * Options of a contract. `version` (default 1) travels as the CloudEvents
 * attribute `dataschema` (`urn:switchyard:<name>:v<version>`); a handler whose
 * contract has a higher version runs `upcast[v]`, `upcast[v+1]`, … on an older
 * message before validating it, so a v2 handler receives v1 messages as v2.
 * A newer message reaches an older handler unchanged and is validated by the
 * older schema. Throws a ConfigurationError for a version that is not a
 * positive integer or an upcaster that is not a function.
 */
export interface ContractOptions {
  readonly version?: number;
  readonly upcast?: Readonly<Record<number, Upcaster>>;
}

/** A query contract also names the schema of its result. */
export interface QueryContract<
  S extends StandardSchemaV1 = StandardSchemaV1,
  R extends StandardSchemaV1 = StandardSchemaV1,
> extends Contract<'query', S> {
  readonly result?: R;
}

/** What a sender passes: the schema's input type. */
export type InputOf<C extends Contract> = StandardSchemaV1.InferInput<C['schema']>;
/** What a handler receives: the schema's output type (after defaults and transforms). */
export type PayloadOf<C extends Contract> = StandardSchemaV1.InferOutput<C['schema']>;
/** The result type of a query contract. */
export type ResultOf<C extends QueryContract> =
  C extends QueryContract<StandardSchemaV1, infer R> ? StandardSchemaV1.InferOutput<R> : unknown;

function define<K extends MessageKind, S extends StandardSchemaV1>(
  kind: K,
  name: string,
  schema: S,
  options: ContractOptions = {},
): Contract<K, S> {
  if (typeof name !== 'string' || name.includes('*') || name.includes('#')) {
    throw new ConfigurationError(`message name '${String(name)}' must be a dot-separated name without wildcards`);
  }
  validatePattern(name);
  if (schema === null || typeof schema !== 'object' || !('~standard' in schema)) {
    throw new ConfigurationError(
      `the schema of '${name}' is not a Standard Schema: pass a zod, valibot or arktype schema (or any object with '~standard')`,
    );
  }
  const { version, upcast } = options;
  if (version !== undefined && (!Number.isInteger(version) || version < 1)) {
    throw new ConfigurationError(`version of '${name}' must be a positive integer, got ${String(version)}`);
  }
  for (const [from, step] of Object.entries(upcast ?? {})) {
    if (typeof step !== 'function') throw new ConfigurationError(`upcast[${from}] of '${name}' must be a function`);
  }
  return Object.freeze({
    name,
    kind,
    schema,
    ...(version !== undefined ? { version } : {}),
    ...(upcast !== undefined ? { upcast: Object.freeze({ ...upcast }) } : {}),
  });
}

/** A command: handled by exactly one handler in the one service it is sent to. */
export function defineCommand<S extends StandardSchemaV1>(
  name: string,
  schema: S,
  options?: ContractOptions,
): Contract<'command', S> {
  return define('command', name, schema, options);
}

/** An event: handled by every subscribed handler in every subscribed service. */
export function defineEvent<S extends StandardSchemaV1>(
  name: string,
  schema: S,
  options?: ContractOptions,
): Contract<'event', S> {
  return define('event', name, schema, options);
}

/** A query: handled by exactly one handler, which returns a result (validated by `result` when given). */
export function defineQuery<S extends StandardSchemaV1, R extends StandardSchemaV1 = StandardSchemaV1>(
  name: string,
  schema: S,
  result?: R,
): QueryContract<S, R> {
  const contract = define('query', name, schema);
  return Object.freeze(result === undefined ? { ...contract } : { ...contract, result });
}

/** A plain message, sent to a named channel of a service. */
export function defineMessage<S extends StandardSchemaV1>(
  name: string,
  schema: S,
  options?: ContractOptions,
): Contract<'message', S> {
  return define('message', name, schema, options);
}
