import type { QueryContract } from '../contracts/contract.js';
import { validate } from '../contracts/validate.js';
import { ConfigurationError, describeError, ErrorCode, RemoteError, SwitchyardError } from '../errors.js';
import type { SendOptions } from '../handlers/types.js';
import { decode } from '../message/codec.js';
import type { Envelope } from '../message/envelope.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { ServiceMap } from '../service/service-map.js';
import type { Delivery, ReplyChannel, ReplyChannels, Transport } from '../transport/types.js';
import { newId } from '../util/ids.js';
import type { Logger } from '../util/logger.js';
import type { Observers } from '../util/observers.js';
import type { Dispatcher } from './dispatcher.js';
import type { Causation, OutgoingMessages } from './outgoing.js';
import { type CallKeeper, PendingCall } from './pending-call.js';
import { REMOTE_ERROR_TYPE, readRemoteFailure } from './reply-wire.js';
import { RequestDeadlines } from './request-deadlines.js';

/** Default bound on waiting for a reply. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** Default life of a reply channel after its instance's last sign of life. */
export const DEFAULT_REPLY_CHANNEL_EXPIRY_MS = 60_000;

const ignore = (): void => undefined;

/** Options of one request (`distributedBus.request`, `context.request`). */
export interface RequestOptions extends Pick<SendOptions, 'metadata' | 'correlationId' | 'traceparent'> {
  /** Reject with `SY_TIMEOUT` when no reply came within this many ms of the call (default 30,000). */
  readonly timeoutMs?: number;
  /** Abort waiting: the call rejects with the signal's reason; a reply arriving later is dropped as late. */
  readonly signal?: AbortSignal;
}

/**
 * What the caller side of request/reply needs from its service.
 * @internal
 */
export interface RequesterParts {
  readonly service: string;
  readonly map: ServiceMap;
  readonly outgoing: OutgoingMessages;
  readonly dispatcher: Pick<Dispatcher, 'dispatch'>;
  readonly observers: Observers;
  readonly logger: Logger;
  /** Largest reply accepted, in bytes. */
  readonly maxMessageBytes: number;
  readonly expireAfterMs: number;
}

/**
 * The caller side of request/reply for one service instance. A request is a
 * query sent durably to the target service's channel, like a command, with
 * the address of this instance's reply channel as `replyTo`. The reply channel
 * is opened on the target's transport at the first request there (one per
 * transport, owned by `<service>-<id>`, a new id per process start) and closed
 * by {@link close}. Replies are matched by the id of the request they answer
 * (their causation id): a reply that matches no waiting request — it came
 * after the timeout or an abort, or is a stranger's — is acked, dropped,
 * logged and reported as `replyDropped` (`late`), never handed to another
 * request.
 * @internal
 */
export class Requester implements CallKeeper {
  /** The owner name of this instance's reply channels. */
  readonly owner: string;
  readonly #parts: RequesterParts;
  /** Calls whose request was built, by request id: what replies are matched against. */
  readonly #pending = new Map<string, PendingCall>();
  /** Every waiting call, built or not, with the one timer that expires them. */
  readonly #deadlines = new RequestDeadlines();
  readonly #channels = new Map<Transport, Promise<ReplyChannel>>();
  /** Addresses of the reply channels open now: the path of a request without a single await. */
  readonly #addresses = new Map<Transport, string>();
  #closed = false;

  constructor(parts: RequesterParts) {
    this.#parts = parts;
    this.owner = `${parts.service}-${newId()}`;
  }

  /** Requests waiting for their reply. */
  get pending(): number {
    return this.#deadlines.size;
  }

  /**
   * Send `payload` as a `contract` query to `target` and resolve with the
   * reply, validated by the contract's `result` schema when it has one.
   * Rejects with: `SY_CONFIGURATION` when the target's transport has no reply
   * channels; `SY_VALIDATION` for an invalid payload or reply; `SY_REMOTE`
   * (a {@link RemoteError}) when the handler failed; `SY_TIMEOUT`; the
   * signal's reason on abort; `SY_CLOSED` when the service stops first; and
   * whatever the send rejected with.
   */
  request(
    target: string,
    contract: QueryContract,
    payload: unknown,
    options: RequestOptions = {},
    causation?: Causation,
  ): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(new ConfigurationError(`timeoutMs must be a positive number, got ${timeoutMs}`));
    }
    if (this.#closed) return Promise.reject(this.#closedError());
    const deadlines = this.#deadlines;
    const call = new PendingCall(this, target, contract, deadlines.now(), timeoutMs, options.signal);
    if (call.settled) return call.promise;
    deadlines.add(call);
    const route = this.#parts.map.resolvedRoute(target);
    const address = route === undefined ? undefined : this.#addresses.get(route.transport);
    if (address === undefined)
      this.#openThenSend(call, payload, options, causation).catch((error: unknown) => call.reject(error));
    else this.#send(call, address, payload, options, causation);
    return call.promise;
  }

  /** The first request to a transport: resolve the route and open the reply channel there, then send. */
  async #openThenSend(
    call: PendingCall,
    payload: unknown,
    options: RequestOptions,
    causation: Causation | undefined,
  ): Promise<void> {
    const { target, contract } = call;
    const route = await this.#parts.map.route(target);
    const replies = route.transport.replies;
    if (replies === undefined) {
      throw new ConfigurationError(
        `cannot request '${contract.name}' from '${target}': its transport '${route.transport.name}' has no reply channels (Transport.replies); use a transport that offers them`,
      );
    }
    const channel = await this.#channel(route.transport, replies);
    if (call.settled) return;
    this.#send(call, channel.address, payload, options, causation);
  }

  /** Build the request (a promise only for an asynchronous schema) and send it; failures reject `call`. */
  #send(
    call: PendingCall,
    address: string,
    payload: unknown,
    options: RequestOptions,
    causation: Causation | undefined,
  ): void {
    const sendOptions: { -readonly [K in keyof SendOptions]: SendOptions[K] } = { replyTo: address };
    if (options.metadata !== undefined) sendOptions.metadata = options.metadata;
    if (options.correlationId !== undefined) sendOptions.correlationId = options.correlationId;
    if (options.traceparent !== undefined) sendOptions.traceparent = options.traceparent;
    const { target, contract } = call;
    let outbound: OutboundMessage | Promise<OutboundMessage>;
    try {
      outbound = this.#parts.outgoing.prepare(
        { kind: 'query', name: contract.name, payload, targetService: target, contract, options: sendOptions },
        causation,
      );
    } catch (error) {
      call.reject(error);
      return;
    }
    if (outbound instanceof Promise) {
      outbound.then(
        (built) => this.#dispatch(call, built),
        (error: unknown) => call.reject(error),
      );
    } else this.#dispatch(call, outbound);
  }

  #dispatch(call: PendingCall, outbound: OutboundMessage): void {
    if (call.settled) return;
    const id = outbound.message.id;
    call.id = id;
    this.#pending.set(id, call);
    this.#parts.dispatcher.dispatch(outbound, 'send').catch((error: unknown) => call.reject(error));
  }

  /** {@link CallKeeper}: a call settled; forget it. */
  release(call: PendingCall): void {
    if (call.id !== undefined) this.#pending.delete(call.id);
    this.#deadlines.delete(call);
  }

  #channel(transport: Transport, replies: ReplyChannels): Promise<ReplyChannel> {
    let channel = this.#channels.get(transport);
    if (channel === undefined) {
      channel = replies.open(this.owner, this.#onReply, { expireAfterMs: this.#parts.expireAfterMs });
      this.#channels.set(transport, channel);
      channel.then(
        (open) => {
          if (!this.#closed && this.#channels.get(transport) === channel) this.#addresses.set(transport, open.address);
        },
        // A failed open is not remembered: the next request tries again.
        () => this.#channels.delete(transport),
      );
    }
    return channel;
  }

  /** Settle the waiting request a reply answers, then ack the reply, whatever it was. */
  readonly #onReply = (delivery: Delivery): Promise<void> => {
    try {
      this.#take(delivery);
    } catch (error) {
      this.#dropped('malformed', delivery.message.id, error);
    }
    return delivery.ack().catch(ignore);
  };

  #take(delivery: Delivery): void {
    let envelope: Envelope;
    try {
      envelope = decode(delivery.message, this.#parts.maxMessageBytes);
      if (envelope.headers.kind !== 'reply') throw new Error(`expected a reply, got a ${envelope.headers.kind}`);
    } catch (error) {
      this.#dropped('malformed', delivery.message.id, error);
      return;
    }
    const requestId = envelope.headers.causationId;
    const call = requestId === undefined ? undefined : this.#pending.get(requestId);
    if (call === undefined) {
      this.#dropped('late', requestId ?? delivery.message.id);
      return;
    }
    if (envelope.headers.name === REMOTE_ERROR_TYPE) {
      call.reject(new RemoteError(envelope.headers.source, readRemoteFailure(envelope.payload)));
      return;
    }
    const schema = call.contract.result;
    if (schema === undefined) {
      call.resolve(envelope.payload);
      return;
    }
    try {
      const result = validate(`${call.contract.name} result`, schema, envelope.payload);
      if (result instanceof Promise)
        result.then(
          (value) => call.resolve(value),
          (error: unknown) => call.reject(error),
        );
      else call.resolve(result);
    } catch (error) {
      call.reject(error);
    }
  }

  #dropped(reason: 'late' | 'malformed', requestId: string, error?: unknown): void {
    const { service, logger, observers } = this.#parts;
    logger.warn(
      { service, requestId, reason, ...(error === undefined ? {} : { err: describeError(error) }) },
      reason === 'late' ? 'late reply dropped: no request is waiting for it' : 'malformed reply dropped',
    );
    observers.emit('replyDropped', { service, reason, requestId, ...(error === undefined ? {} : { error }) });
  }

  /**
   * Reject every waiting request with `SY_CLOSED` and close this instance's
   * reply channels (deleting what they still hold). Idempotent; later requests
   * reject with `SY_CLOSED`.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const call of this.#deadlines.list()) call.reject(this.#closedError());
    const channels = [...this.#channels.values()];
    this.#channels.clear();
    this.#addresses.clear();
    await Promise.all(
      channels.map((channel) =>
        channel
          .then((open) => open.close())
          .catch((error: unknown) =>
            this.#parts.logger.warn({ service: this.#parts.service, err: error }, 'closing a reply channel failed'),
          ),
      ),
    );
  }

  #closedError(): SwitchyardError {
    return new SwitchyardError(ErrorCode.Closed, `service '${this.#parts.service}' stopped before the reply came`);
  }
}
