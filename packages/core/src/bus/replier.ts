import { describeError } from '../errors.js';
import type { Envelope } from '../message/envelope.js';
import type { Transport, TransportMessage } from '../transport/types.js';
import type { Logger } from '../util/logger.js';
import type { Observers } from '../util/observers.js';
import type { OutgoingMessages } from './outgoing.js';
import { REMOTE_ERROR_TYPE, remoteFailureOf } from './reply-wire.js';

/**
 * What answering requests needs from its service.
 * @internal
 */
export interface ReplierParts {
  readonly service: string;
  /** The transport the requests arrive on; its `replies.send` carries the answers back. */
  readonly transport: Transport;
  readonly outgoing: OutgoingMessages;
  readonly observers: Observers;
  readonly logger: Logger;
  /** Send the stack of a failed handler with its error reply (service option `replyErrorStack`). */
  readonly withStack: boolean;
}

/**
 * Sends the answer to one request to the reply address it carries (see
 * `reply-wire.ts`). Never rejects: a reply that cannot be built or sent is
 * dropped, logged and reported to observers as `replyDropped` (reason
 * `undeliverable`), and the request is acked all the same; the caller then
 * times out. Replies are not retried and never dead-lettered.
 * @internal
 */
export class Replier {
  readonly #parts: ReplierParts;

  constructor(parts: ReplierParts) {
    this.#parts = parts;
  }

  /** Answer `request` with the handler's return value; a value JSON cannot carry becomes an error reply. */
  reply(request: Envelope, result: unknown): Promise<void> {
    let message: TransportMessage;
    try {
      message = this.#build(request, request.headers.name, result);
    } catch (error) {
      return this.fail(request, error);
    }
    return this.#send(request, message);
  }

  /** Answer `request` with the handler's error (code, message, class name; the stack only when configured). */
  fail(request: Envelope, error: unknown): Promise<void> {
    const failure = remoteFailureOf(error, this.#parts.withStack);
    return this.#send(request, this.#build(request, REMOTE_ERROR_TYPE, failure));
  }

  #build(request: Envelope, name: string, payload: unknown): TransportMessage {
    const spec = { kind: 'reply' as const, name, payload, targetService: request.headers.source };
    return this.#parts.outgoing.buildValidated(spec, request.headers).message;
  }

  async #send(request: Envelope, message: TransportMessage): Promise<void> {
    const { transport, observers, logger, service } = this.#parts;
    const address = request.headers.replyTo as string;
    try {
      if (transport.replies === undefined) {
        throw new Error(`transport '${transport.name}' has no reply channels (Transport.replies)`);
      }
      await transport.replies.send(address, message);
    } catch (error) {
      logger.warn(
        { service, requestId: request.headers.id, replyTo: address, err: describeError(error) },
        'reply dropped: it could not be sent',
      );
      observers.emit('replyDropped', { service, reason: 'undeliverable', requestId: request.headers.id, error });
    }
  }
}
