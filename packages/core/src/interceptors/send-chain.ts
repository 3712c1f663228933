import type { SendOrigin } from '../bus/dispatcher.js';
import { SendRejectedError, SwitchyardError } from '../errors.js';
import { Header, isValidMetadataKey } from '../message/codec.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { Interceptor, SendContext } from './types.js';

const RESERVED = new Set<string>(Object.values(Header));

/**
 * Runs the send interceptors of a service around one send, in the order
 * registered (the first outermost). `send` gets the outbound message rebuilt
 * with the metadata as the interceptors left it.
 * @internal
 */
export async function runSendInterceptors(
  service: string,
  interceptors: readonly Interceptor[],
  outbound: OutboundMessage,
  origin: SendOrigin,
  send: (outbound: OutboundMessage) => Promise<void>,
): Promise<void> {
  const headers = outbound.message.headers;
  const metadata: Record<string, string> = {};
  for (const key in headers) {
    if (key.startsWith('ce-') && !RESERVED.has(key)) metadata[key.slice(3)] = headers[key] as string;
  }
  const context: SendContext = {
    service,
    origin,
    destination: outbound.destination,
    messageId: outbound.message.id,
    name: headers[Header.type] ?? '',
    correlationId: headers[Header.correlationId] ?? '',
    metadata,
  };
  let sent = false;
  let sendFailure: { error: unknown } | undefined;
  const innermost = async (): Promise<void> => {
    if (sent) throw new SendRejectedError('a send interceptor called next() twice');
    sent = true;
    try {
      await send(rebuild(outbound, context.metadata));
    } catch (error) {
      sendFailure = { error };
      throw error;
    }
  };
  const step = (index: number): (() => Promise<void>) => {
    const interceptor = interceptors[index];
    if (interceptor === undefined) return innermost;
    if (interceptor.send === undefined) return step(index + 1);
    const own = interceptor.send;
    const next = step(index + 1);
    return async () => {
      try {
        await own(context, next);
      } catch (error) {
        if (sendFailure !== undefined && sendFailure.error === error) throw error;
        if (error instanceof SwitchyardError) throw error;
        throw new SendRejectedError(
          `send interceptor ${interceptor.name ?? `#${index + 1}`} refused '${context.name}' (${context.messageId})`,
          { cause: error },
        );
      }
    };
  };
  await step(0)();
  if (!sent) throw new SendRejectedError(`a send interceptor did not call next(): '${context.name}' was not sent`);
}

function rebuild(outbound: OutboundMessage, metadata: Readonly<Record<string, string>>): OutboundMessage {
  const headers: Record<string, string> = {};
  const source = outbound.message.headers;
  for (const key in source) {
    if (!key.startsWith('ce-') || RESERVED.has(key)) headers[key] = source[key] as string;
  }
  for (const key in metadata) {
    const value = metadata[key];
    if (!isValidMetadataKey(key) || typeof value !== 'string') {
      throw new SendRejectedError(
        `metadata key '${key}' set by a send interceptor is invalid: use 1-20 lowercase letters or digits with a string value`,
      );
    }
    headers[`ce-${key}`] = value;
  }
  return { destination: outbound.destination, message: { ...outbound.message, headers } };
}
