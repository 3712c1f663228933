import type { Contract, InputOf, PayloadOf, QueryContract, ResultOf } from '../contracts/contract.js';
import { contractOfInstance } from '../contracts/message-class.js';
import { validate } from '../contracts/validate.js';
import { ErrorCode, SwitchyardError } from '../errors.js';
import type { HandlerRegistration, HandlerRegistry } from '../handlers/registry.js';
import type { HandlerContext } from '../handlers/types.js';
import type { Envelope, MessageKind } from '../message/envelope.js';
import { readdress } from '../resilience/failures.js';
import type { Clock } from '../util/clock.js';
import { newId } from '../util/ids.js';
import type { Dispatcher } from './dispatcher.js';
import type { OutgoingMessages } from './outgoing.js';

/**
 * What local dispatch needs from its service.
 * @internal
 */
export interface LocalBusParts {
  readonly service: string;
  readonly registry: HandlerRegistry;
  readonly outgoing: OutgoingMessages;
  readonly clock: Clock;
  readonly context: (envelope: Envelope, handler: HandlerRegistration) => HandlerContext;
  /** The one send path: asynchronous handlers' messages go to this service's channel through it. */
  readonly dispatcher: Pick<Dispatcher, 'dispatch'>;
}

/**
 * In-process command, event and query buses. Payloads are validated against
 * their contracts; handlers registered with `asynchronous` are not called
 * directly but enqueued on the service's own channel and run by its consumer, with
 * the same retries and dead letter as distributed messages.
 */
export class LocalBuses {
  readonly #parts: LocalBusParts;

  /** @internal A service builds its buses; get them as `service.distributedBus` / `service.localBus`. */
  constructor(parts: LocalBusParts) {
    this.#parts = parts;
  }

  /** Run the one handler of `contract`; rejects with SY_NO_HANDLER when there is none. Resolves with its return value. */
  async sendCommand<C extends Contract<'command'>>(contract: C, payload: InputOf<C>): Promise<unknown> {
    return this.#single(contract, payload);
  }

  /** Run the one handler of a query and return its result, validated by the contract's `result` schema when given. */
  async ask<C extends QueryContract>(contract: C, payload: InputOf<C>): Promise<ResultOf<C>>;
  /** Ask a query given as an instance of a class decorated with `@Query`. */
  async ask(query: object): Promise<unknown>;
  async ask(first: QueryContract | object, second?: unknown): Promise<unknown> {
    const instance = contractOfInstance(first);
    if (instance) return this.#single(instance, first);
    const contract = first as QueryContract;
    const result = await this.#single(contract, second);
    return contract.result ? await validate(`${contract.name} result`, contract.result, result) : result;
  }

  /** Run every handler whose pattern matches the event, in registration order; the first failure rejects. */
  async publishEvent<C extends Contract<'event'>>(contract: C, payload: InputOf<C>): Promise<void> {
    const validated = (await validate(contract.name, contract.schema, payload)) as PayloadOf<C>;
    for (const handler of this.#parts.registry.events(contract.name)) {
      await this.#invoke(handler, 'event', contract.name, payload, validated);
    }
  }

  async #single(contract: Contract, payload: unknown): Promise<unknown> {
    const handler = this.#parts.registry.single(contract.name);
    if (!handler) {
      throw new SwitchyardError(
        ErrorCode.NoHandler,
        `${contract.kind} '${contract.name}' has no handler in '${this.#parts.service}'`,
      );
    }
    const validated = await validate(contract.name, contract.schema, payload);
    return this.#invoke(handler, contract.kind, contract.name, payload, validated);
  }

  async #invoke(
    handler: HandlerRegistration,
    kind: MessageKind,
    name: string,
    raw: unknown,
    validated: unknown,
  ): Promise<unknown> {
    const parts = this.#parts;
    if (handler.asynchronous !== undefined) {
      const outbound = parts.outgoing.buildValidated({
        kind,
        name,
        payload: raw,
        targetService: parts.service,
        endpoint: handler.asynchronous,
      });
      const message = readdress(outbound.message, { handler: handler.id, attempt: 1 });
      await parts.dispatcher.dispatch({ destination: { kind: 'send', service: parts.service }, message }, 'enqueue');
      return undefined;
    }
    const id = newId();
    const envelope: Envelope = {
      headers: {
        id,
        name,
        kind,
        source: parts.service,
        targetService: parts.service,
        correlationId: id,
        time: new Date(parts.clock.now()).toISOString(),
        contentType: 'application/json',
        attempt: 1,
        metadata: {},
      },
      payload: validated,
    };
    return handler.invoke(validated, parts.context(envelope, handler));
  }
}
