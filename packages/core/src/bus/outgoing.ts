import { trace } from '@opentelemetry/api';
import type { Contract } from '../contracts/contract.js';
import { contractOfInstance } from '../contracts/message-class.js';
import { validate } from '../contracts/validate.js';
import { dataSchemaOf } from '../contracts/versioning.js';
import { ConfigurationError } from '../errors.js';
import type { SendOptions } from '../handlers/types.js';
import { encode, isValidMetadataKey } from '../message/codec.js';
import type { MessageHeaders, MessageKind } from '../message/envelope.js';
import type { OutboundMessage } from '../message/outbound.js';
import { formatTraceparent } from '../telemetry/trace-context.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/ids.js';

/**
 * The message being handled, whose correlation and trace an outgoing message inherits.
 * @internal
 */
export interface Causation {
  readonly id: string;
  readonly correlationId: string;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** User metadata of the handled message; carried on to what the handler sends, as the propagation rule allows. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Which user metadata of a handled message the messages its handler sends
 * carry on: `true` (default) all, `false` none, a list: only those keys,
 * `{ except }`: all but those keys. Metadata given in the send's options wins.
 */
export type MetadataPropagation = boolean | readonly string[] | { readonly except: readonly string[] };

/**
 * What is known about one outgoing message before encoding.
 * @internal
 */
export interface OutgoingSpec {
  readonly kind: MessageKind;
  readonly name: string;
  readonly payload: unknown;
  readonly targetService?: string;
  /** Plain messages: the endpoint inside the target service. */
  readonly endpoint?: string;
  readonly contract?: Contract;
  readonly options?: SendOptions;
}

/**
 * Builds outgoing messages for one service: headers (id, correlation,
 * causation, trace), validation against the contract, encoding. Pure apart
 * from the clock and id generation; shared by the distributed bus, handler
 * contexts, asynchronous handlers and the outbox.
 * @internal Used by the service and by tests; not a stable API.
 */
export class OutgoingMessages {
  readonly #source: string;
  readonly #clock: Clock;
  readonly #propagates: (key: string) => boolean;

  constructor(source: string, clock: Clock, propagation: MetadataPropagation = true) {
    this.#source = source;
    this.#clock = clock;
    this.#propagates = propagationRule(propagation);
  }

  #metadata(
    own: Readonly<Record<string, string>> | undefined,
    inherited: Readonly<Record<string, string>> | undefined,
  ): Readonly<Record<string, string>> {
    const carried = inheritedMetadata(inherited, this.#propagates);
    const checked = checkMetadata(own);
    if (carried === undefined) return checked;
    return checked === NO_METADATA ? carried : { ...carried, ...checked };
  }

  /** Validate and encode; rejects with a ValidationError when the payload breaks its contract. */
  async build(spec: OutgoingSpec, causation?: Causation): Promise<OutboundMessage> {
    return this.prepare(spec, causation);
  }

  /**
   * {@link build} without a promise when the contract's schema validates
   * synchronously (the common case; a promise per send was a measurable
   * share of its cost); a promise only for an asynchronous schema. Throws (or
   * rejects) with a ValidationError when the payload breaks its contract.
   */
  prepare(spec: OutgoingSpec, causation?: Causation): OutboundMessage | Promise<OutboundMessage> {
    if (spec.contract) {
      const checked = validate(spec.name, spec.contract.schema, spec.payload);
      if (checked instanceof Promise) return checked.then(() => this.buildValidated(spec, causation));
    }
    return this.buildValidated(spec, causation);
  }

  /** Encode without validation, for payloads that were validated already. */
  buildValidated(spec: OutgoingSpec, causation?: Causation): OutboundMessage {
    const options = spec.options ?? NO_OPTIONS;
    const id = newId();
    const now = this.#clock.now();
    const headers: { -readonly [K in keyof MessageHeaders]: MessageHeaders[K] } = {
      id,
      name: spec.name,
      kind: spec.kind,
      source: this.#source,
      correlationId: options.correlationId ?? causation?.correlationId ?? id,
      time: isoTime(now),
      contentType: 'application/json',
      attempt: 1,
      metadata: this.#metadata(options.metadata, causation?.metadata),
    };
    if (spec.targetService !== undefined) headers.targetService = spec.targetService;
    if (spec.endpoint !== undefined) headers.endpoint = spec.endpoint;
    const causationId = options.causationId ?? causation?.id;
    if (causationId !== undefined) headers.causationId = causationId;
    if (options.replyTo !== undefined) headers.replyTo = options.replyTo;
    const traceparent = options.traceparent ?? causation?.traceparent;
    if (traceparent !== undefined) headers.traceparent = traceparent;
    if (causation?.tracestate !== undefined && options.traceparent === undefined)
      headers.tracestate = causation.tracestate;
    if (traceparent === undefined) activeTrace(headers);
    if (options.orderingKey !== undefined) headers.orderingKey = options.orderingKey;
    const dataSchema = spec.contract ? dataSchemaOf(spec.contract) : undefined;
    if (dataSchema !== undefined) headers.dataSchema = dataSchema;
    if (options.delayMs !== undefined && options.delayMs > 0) headers.deliverAt = now + options.delayMs;
    const message = encode({ headers, payload: spec.payload });
    const destination =
      spec.kind === 'event'
        ? ({ kind: 'publish', routingKey: spec.name } as const)
        : ({ kind: 'send', service: spec.targetService as string } as const);
    return { destination, message };
  }
}

/**
 * Outside a handler, a message carries the active span's trace context (if an
 * OpenTelemetry SDK records one), so that a message prepared for the outbox
 * keeps the trace it was prepared in when the relay forwards it later.
 */
function activeTrace(headers: { traceparent?: string; tracestate?: string }): void {
  const span = trace.getActiveSpan();
  if (span === undefined || !span.isRecording()) return;
  const spanContext = span.spanContext();
  headers.traceparent = formatTraceparent(spanContext);
  const state = spanContext.traceState?.serialize();
  if (state) headers.tracestate = state;
}

/** Check a propagation rule at construction and turn it into a key predicate. */
function propagationRule(rule: MetadataPropagation): (key: string) => boolean {
  if (rule === true) return () => true;
  if (rule === false) return () => false;
  const keys = Array.isArray(rule) ? rule : (rule as { except?: unknown }).except;
  if (!Array.isArray(keys) || keys.some((key) => typeof key !== 'string')) {
    throw new ConfigurationError('propagateMetadata must be true, false, a list of keys, or { except: [keys] }');
  }
  const set = new Set<string>(keys);
  return Array.isArray(rule) ? (key) => set.has(key) : (key) => !set.has(key);
}

/** Resolve the `(contract, payload, options)` or `(instance, options)` call forms of the bus methods. */
export function resolveCall(
  kind: 'command' | 'event' | 'query',
  first: unknown,
  second: unknown,
  third: unknown,
): { contract: Contract; payload: unknown; options: SendOptions | undefined } {
  const fromInstance = contractOfInstance(first);
  if (fromInstance) {
    checkKind(kind, fromInstance);
    return { contract: fromInstance, payload: first, options: second as SendOptions | undefined };
  }
  const contract = first as Contract;
  if (
    contract === null ||
    typeof contract !== 'object' ||
    typeof contract.name !== 'string' ||
    !('schema' in contract)
  ) {
    const type = (first as object | null)?.constructor;
    if (typeof type === 'function' && type !== Object) {
      throw new ConfigurationError(
        `class ${type.name} is not a registered message: decorate it with @Command('name') or @Event('name')`,
      );
    }
    throw new ConfigurationError(`expected a ${kind} contract or an instance of a decorated ${kind} class`);
  }
  checkKind(kind, contract);
  return { contract, payload: second, options: third as SendOptions | undefined };
}

function checkKind(kind: string, contract: Contract): void {
  if (contract.kind !== kind) {
    throw new ConfigurationError(
      `'${contract.name}' is a ${contract.kind}, not a ${kind}: use the matching bus method`,
    );
  }
}

function inheritedMetadata(
  inherited: Readonly<Record<string, string>> | undefined,
  propagates: (key: string) => boolean,
): Record<string, string> | undefined {
  if (inherited === undefined) return undefined;
  let result: Record<string, string> | undefined;
  for (const key in inherited) {
    if (!propagates(key)) continue;
    result ??= {};
    result[key] = inherited[key] as string;
  }
  return result;
}

function checkMetadata(metadata: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  if (metadata === undefined) return NO_METADATA;
  for (const [key, value] of Object.entries(metadata)) {
    if (!isValidMetadataKey(key)) {
      throw new ConfigurationError(
        `metadata key '${key}' is invalid: use 1-20 lowercase letters or digits that are not a reserved attribute name, or a name of letters, digits, '.', '_' and '-' that starts with a letter and is no binding or broker header (ce-, ce_, cloudEvents, x-, sy-, content-type)`,
      );
    }
    if (typeof value !== 'string') throw new ConfigurationError(`metadata '${key}' must be a string`);
  }
  return { ...metadata };
}

/** Shared by every message sent without options or metadata: the headers built here are only read (by `encode`). */
const NO_OPTIONS: SendOptions = Object.freeze({});
const NO_METADATA: Readonly<Record<string, string>> = Object.freeze({});

let lastMs = Number.NaN;
let lastIso = '';

/** ISO 8601 text of `ms`; messages created in the same millisecond share one string instead of formatting it again. */
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}
