import type { Contract, InputOf, QueryContract, ResultOf } from '../contracts/contract.js';
import { ConfigurationError } from '../errors.js';
import type { DistributedBus, SendOptions } from '../handlers/types.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { Dispatcher } from './dispatcher.js';
import { type Causation, type OutgoingMessages, resolveCall } from './outgoing.js';
import type { Requester, RequestOptions } from './request.js';

/**
 * The parts a bus needs; shared by the service's bus and every handler context.
 * @internal
 */
export interface BusParts {
  readonly outgoing: OutgoingMessages;
  /** The one send path; it reports `sent` to the service's observers. */
  readonly dispatcher: Dispatcher;
  /** The caller side of request/reply (this instance's reply channels and waiting requests). */
  readonly requester: Requester;
}

/**
 * The distributed bus of one service. With a `causation` (inside a handler)
 * every message it sends carries the handled message's correlation id, its id
 * as causation id, and its trace context.
 */
export class ServiceBus implements DistributedBus {
  readonly #parts: BusParts;
  readonly #causation: Causation | undefined;

  /** @internal A service builds its buses; get them as `service.distributedBus` / `service.localBus`. */
  constructor(parts: BusParts, causation?: Causation) {
    this.#parts = parts;
    this.#causation = causation;
  }

  sendCommand<C extends Contract<'command'>>(
    target: string,
    contract: C,
    payload: InputOf<C>,
    options?: SendOptions,
  ): Promise<void>;
  sendCommand(target: string, command: object, options?: SendOptions): Promise<void>;
  async sendCommand(target: string, first: unknown, second?: unknown, third?: unknown): Promise<void> {
    const prepared = this.#prepareCommand(target, first, second, third);
    await this.#send(prepared instanceof Promise ? await prepared : prepared);
  }

  prepareCommand<C extends Contract<'command'>>(
    target: string,
    contract: C,
    payload: InputOf<C>,
    options?: SendOptions,
  ): Promise<OutboundMessage>;
  prepareCommand(target: string, command: object, options?: SendOptions): Promise<OutboundMessage>;
  async prepareCommand(target: string, first: unknown, second?: unknown, third?: unknown): Promise<OutboundMessage> {
    return this.#prepareCommand(target, first, second, third);
  }

  /** Throws on bad arguments; a promise only when the contract validates asynchronously. */
  #prepareCommand(
    target: string,
    first: unknown,
    second?: unknown,
    third?: unknown,
  ): OutboundMessage | Promise<OutboundMessage> {
    checkTarget(target);
    const { contract, payload, options } = resolveCall('command', first, second, third);
    const spec = {
      kind: 'command' as const,
      name: contract.name,
      payload,
      targetService: target,
      contract,
      ...(options ? { options } : {}),
    };
    return this.#parts.outgoing.prepare(spec, this.#causation);
  }

  publishEvent<C extends Contract<'event'>>(contract: C, payload: InputOf<C>, options?: SendOptions): Promise<void>;
  publishEvent(event: object, options?: SendOptions): Promise<void>;
  async publishEvent(first: unknown, second?: unknown, third?: unknown): Promise<void> {
    const prepared = this.#prepareEvent(first, second, third);
    await this.#send(prepared instanceof Promise ? await prepared : prepared);
  }

  prepareEvent<C extends Contract<'event'>>(
    contract: C,
    payload: InputOf<C>,
    options?: SendOptions,
  ): Promise<OutboundMessage>;
  prepareEvent(event: object, options?: SendOptions): Promise<OutboundMessage>;
  async prepareEvent(first: unknown, second?: unknown, third?: unknown): Promise<OutboundMessage> {
    return this.#prepareEvent(first, second, third);
  }

  /** Throws on bad arguments; a promise only when the contract validates asynchronously. */
  #prepareEvent(first: unknown, second?: unknown, third?: unknown): OutboundMessage | Promise<OutboundMessage> {
    const { contract, payload, options } = resolveCall('event', first, second, third);
    const spec = { kind: 'event' as const, name: contract.name, payload, contract, ...(options ? { options } : {}) };
    return this.#parts.outgoing.prepare(spec, this.#causation);
  }

  request<C extends QueryContract>(
    target: string,
    contract: C,
    payload: InputOf<C>,
    options?: RequestOptions,
  ): Promise<ResultOf<C>>;
  request(target: string, query: object, options?: RequestOptions): Promise<unknown>;
  request(target: string, first: unknown, second?: unknown, third?: unknown): Promise<unknown> {
    // Not async: one promise per request, the requester's; bad arguments still reject rather than throw.
    try {
      checkTarget(target);
      const { contract, payload, options } = resolveCall('query', first, second, third);
      return this.#parts.requester.request(target, contract as QueryContract, payload, options, this.#causation);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async sendMessage(
    target: string,
    endpoint: string,
    payload: unknown,
    options?: SendOptions & { name?: string },
  ): Promise<void> {
    checkTarget(target);
    if (typeof endpoint !== 'string' || endpoint.length === 0)
      throw new ConfigurationError('sendMessage needs an endpoint name');
    const spec = {
      kind: 'message' as const,
      name: options?.name ?? endpoint,
      payload,
      targetService: target,
      endpoint,
      ...(options ? { options } : {}),
    };
    await this.#send(this.#parts.outgoing.buildValidated(spec, this.#causation));
  }

  #send(outbound: OutboundMessage): Promise<void> {
    return this.#parts.dispatcher.dispatch(outbound, 'send');
  }
}

function checkTarget(target: unknown): void {
  if (typeof target !== 'string' || target.length === 0) {
    throw new ConfigurationError('the target service must be a non-empty service name');
  }
}
