import type { Contract } from '../contracts/contract.js';
import { contractOfClass, isMessageClass } from '../contracts/message-class.js';
import { ConfigurationError, ErrorCode, SwitchyardError } from '../errors.js';
import type { MessageKind } from '../message/envelope.js';
import { type RetryPolicy, resolveRetryPolicy } from '../resilience/retry-policy.js';
import {
  compileEcotonePattern,
  compilePattern,
  ecotoneToAmqpPattern,
  type PatternMatcher,
} from '../routing/pattern.js';
import type { FinalFailureStrategy } from '../runtime/stages/final-failure.js';
import type { Handler, HandlerOptions, MessageRef } from './types.js';

/** One registered handler, with everything resolved at registration time. */
export interface HandlerRegistration {
  readonly id: string;
  readonly kind: MessageKind;
  /** The contract whose schema validates the payload; absent for pattern and endpoint handlers. */
  readonly contract?: Contract;
  /** Message name, event pattern, or endpoint name (kind `message`). */
  readonly pattern: string;
  readonly distributed: boolean;
  readonly asynchronous?: string;
  readonly retry: RetryPolicy;
  /** This handler's final-failure strategy, when it overrides the service's. */
  readonly finalFailure?: FinalFailureStrategy;
  readonly invoke: Handler;
  /** Run in one transaction with its inbox record (see `HandlerOptions.transactionalInbox`). */
  readonly transactionalInbox?: boolean;
}

/**
 * All handlers of one service. Enforces one handler per command and per query,
 * any number per event, and unique ids. Lookups are cached per message name,
 * so routing costs one map read on the hot path.
 */
export class HandlerRegistry {
  readonly #byId = new Map<string, HandlerRegistration>();
  // Command/query name → its one handler, as a one-element list: routing hands the list on as it is.
  readonly #single = new Map<string, readonly [HandlerRegistration]>();
  readonly #events: Array<{ registration: HandlerRegistration; matches: PatternMatcher }> = [];
  readonly #endpoints = new Map<string, HandlerRegistration[]>();
  readonly #eventCache = new Map<string, readonly HandlerRegistration[]>();
  readonly #defaultRetry: RetryPolicy;
  #frozen = false;

  constructor(defaultRetry: RetryPolicy) {
    this.#defaultRetry = defaultRetry;
  }

  /** Register a handler for a contract, a decorated class, or an event pattern. Throws on conflicts. */
  add(target: MessageRef | string, invoke: Handler, options: HandlerOptions = {}): HandlerRegistration {
    const contract = typeof target === 'string' ? undefined : toContract(target);
    const kind: MessageKind = contract?.kind ?? 'event';
    const ecotone = contract === undefined && options.patternSyntax === 'ecotone';
    // An Ecotone pattern is provisioned as its AMQP superset and matched by Ecotone's own rule.
    const pattern = ecotone ? ecotoneToAmqpPattern(target as string) : (contract?.name ?? (target as string));
    const matcher = ecotone ? compileEcotonePattern(target as string) : undefined;
    if (contract === undefined && !ecotone) compilePattern(pattern);
    const fallbackId = kind === 'command' || kind === 'query' ? pattern : `${invoke.name || 'handler'}@${pattern}`;
    return this.#register(
      {
        id: options.name ?? fallbackId,
        kind,
        ...(contract ? { contract } : {}),
        pattern,
        distributed: options.distributed ?? false,
        ...(options.asynchronous ? { asynchronous: options.asynchronous } : {}),
        retry: resolveRetryPolicy(options.retry, this.#defaultRetry),
        ...finalFailureOf(options),
        invoke,
        ...(options.transactionalInbox ? { transactionalInbox: true } : {}),
      },
      matcher,
    );
  }

  /** Register a handler for plain messages sent to `endpoint` of this service (always distributed). */
  addEndpoint(
    endpoint: string,
    invoke: Handler,
    options: HandlerOptions = {},
    contract?: Contract,
  ): HandlerRegistration {
    return this.#register({
      id: options.name ?? `endpoint:${endpoint}`,
      kind: 'message',
      ...(contract ? { contract } : {}),
      pattern: endpoint,
      distributed: true,
      retry: resolveRetryPolicy(options.retry, this.#defaultRetry),
      ...finalFailureOf(options),
      invoke,
    });
  }

  /** Handler by id, for retries and replays addressed to one handler. */
  byId(id: string): HandlerRegistration | undefined {
    return this.#byId.get(id);
  }

  /** The one handler of a command or query, if registered. */
  single(name: string): HandlerRegistration | undefined {
    return this.#single.get(name)?.[0];
  }

  /** {@link single} as a shared (frozen) one-element list, so routing allocates nothing per message. */
  singleList(name: string): readonly [HandlerRegistration] | undefined {
    return this.#single.get(name);
  }

  /** Every handler whose pattern matches the event `name`, in registration order. */
  events(name: string): readonly HandlerRegistration[] {
    let cached = this.#eventCache.get(name);
    if (cached === undefined) {
      cached = this.#events.filter((entry) => entry.matches(name)).map((entry) => entry.registration);
      if (this.#eventCache.size < 10_000) this.#eventCache.set(name, cached);
    }
    return cached;
  }

  /** Handlers of plain messages sent to `endpoint`. */
  endpoint(endpoint: string): readonly HandlerRegistration[] {
    return this.#endpoints.get(endpoint) ?? [];
  }

  /** Event patterns of distributed handlers: the subscriptions this service provisions. */
  subscriptions(): string[] {
    return [...new Set(this.#events.filter((e) => e.registration.distributed).map((e) => e.registration.pattern))];
  }

  all(): readonly HandlerRegistration[] {
    return [...this.#byId.values()];
  }

  /** After start, the topology is provisioned: later registrations would silently miss messages. */
  freeze(): void {
    this.#frozen = true;
  }

  #register(registration: HandlerRegistration, matcher?: PatternMatcher): HandlerRegistration {
    if (this.#frozen) {
      throw new ConfigurationError(
        `handler '${registration.id}' was registered after start(): register every handler before start()`,
      );
    }
    if (this.#byId.has(registration.id)) {
      throw new SwitchyardError(
        ErrorCode.DuplicateHandler,
        `a handler with id '${registration.id}' is already registered: give one of them a distinct { name }`,
      );
    }
    if (registration.kind === 'command' || registration.kind === 'query') {
      if (this.#single.has(registration.pattern)) {
        throw new SwitchyardError(
          ErrorCode.DuplicateHandler,
          `${registration.kind} '${registration.pattern}' already has a handler: a ${registration.kind} has exactly one`,
        );
      }
      this.#single.set(registration.pattern, Object.freeze([registration] as const));
    } else if (registration.kind === 'message') {
      const list = this.#endpoints.get(registration.pattern) ?? [];
      list.push(registration);
      this.#endpoints.set(registration.pattern, list);
    } else {
      this.#events.push({ registration, matches: matcher ?? compilePattern(registration.pattern) });
      this.#eventCache.clear();
    }
    this.#byId.set(registration.id, registration);
    return registration;
  }
}

/** The contract behind a contract or a decorated message class. */
export function toContract(target: MessageRef): Contract {
  return isMessageClass(target) ? contractOfClass(target) : (target as Contract);
}

const STRATEGIES: readonly FinalFailureStrategy[] = ['deadLetter', 'discard', 'stop'];

/** `{ finalFailure }` when the options set a valid one; throws a ConfigurationError for an unknown strategy. */
export function finalFailureOf(options: HandlerOptions): { finalFailure?: FinalFailureStrategy } {
  const strategy = options.finalFailure;
  if (strategy === undefined) return {};
  if (!STRATEGIES.includes(strategy)) {
    throw new ConfigurationError(`finalFailure must be one of ${STRATEGIES.join(', ')}, got '${String(strategy)}'`);
  }
  return { finalFailure: strategy };
}
