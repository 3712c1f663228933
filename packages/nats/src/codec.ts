import { type MsgHdrs, headers as natsHeaders } from '@nats-io/transport-node';
import { ErrorCode, messageSize, TransportError, type TransportMessage } from '@switchyard/core/transport';

/**
 * The CloudEvents NATS protocol binding, binary mode: every `ce-*` attribute
 * and `content-type` is one NATS header of the same name, the payload is the
 * message data. Switchyard's transport fields that are not CloudEvents
 * attributes travel in `sy-*` headers, written only when they add something:
 * `sy-id` when the id differs from `ce-id`, `sy-key` when the key differs
 * from `ce-partitionkey`, `sy-deliverat` (epoch ms) when a due time is set.
 * Headers the server adds (`Nats-*`) are not part of the message.
 */
export const SyHeader = { id: 'sy-id', key: 'sy-key', deliverAt: 'sy-deliverat' } as const;

/** NATS headers for `message`. */
export function toNatsHeaders(message: TransportMessage): MsgHdrs {
  const h = natsHeaders();
  const source = message.headers;
  for (const name in source) h.set(name, source[name] as string);
  if (source['ce-id'] !== message.id) h.set(SyHeader.id, message.id);
  if (message.key !== undefined && source['ce-partitionkey'] !== message.key) h.set(SyHeader.key, message.key);
  if (message.deliverAt !== undefined) h.set(SyHeader.deliverAt, String(message.deliverAt));
  return h;
}

/** The message carried by a received NATS message. */
export function fromNats(hdrs: MsgHdrs | undefined, data: Uint8Array): TransportMessage {
  const headers: Record<string, string> = {};
  let id: string | undefined;
  let key: string | undefined;
  let deliverAt: number | undefined;
  if (hdrs) {
    for (const name of hdrs.keys()) {
      const value = hdrs.get(name);
      if (name === SyHeader.id) id = value;
      else if (name === SyHeader.key) key = value;
      else if (name === SyHeader.deliverAt) {
        const at = Number(value);
        if (Number.isFinite(at)) deliverAt = at;
      } else if (!name.startsWith('Nats-')) headers[name] = value;
    }
  }
  key ??= headers['ce-partitionkey'];
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
    id: id ?? headers['ce-id'] ?? '',
    headers,
    body: data,
  };
  if (key !== undefined) message.key = key;
  if (deliverAt !== undefined) message.deliverAt = deliverAt;
  return message;
}

/** Rejects a message over `maxBytes` with SY_TOO_LARGE, before anything is published. */
export function checkSize(message: TransportMessage, maxBytes: number): void {
  const size = messageSize(message);
  if (size > maxBytes) {
    throw new TransportError(
      ErrorCode.TooLarge,
      `nats: message '${message.id}' is ${size} bytes, over the limit of ${maxBytes} (server max_payload)`,
    );
  }
}
