import type { JsMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { ErrorCode, messageSize, TransportError, type TransportMessage } from '@switchyard/core/transport';

/**
 * The CloudEvents NATS protocol binding (spec 1.0.3-wip, the first version
 * with headers; 1.0.2 knew only structured mode), binary mode: every
 * attribute is one NATS header `ce-<attribute>`, its value percent-encoded
 * where the binding requires it (space, `"`, `%`, anything outside printable
 * ASCII), and the payload is the message data. `datacontenttype` is written
 * twice: as `ce-datacontenttype` (the binding's name) and as `content-type`
 * (what the Go SDK's NATS binding reads and writes). Switchyard's transport
 * fields that are not CloudEvents attributes travel in `sy-*` headers,
 * written only when they add something: `sy-id` when the id differs from
 * `ce-id`, `sy-key` when the key differs from `ce-partitionkey`,
 * `sy-deliverat` (epoch ms) when a due time is set. Headers the server adds
 * (`Nats-*`) are not part of the message.
 */
export const SyHeader = { id: 'sy-id', key: 'sy-key', deliverAt: 'sy-deliverat' } as const;

const DATACONTENTTYPE = 'ce-datacontenttype';
/** Characters the binding lets through unencoded: printable ASCII except space, `"` and `%`. */
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;
const encoder = new TextEncoder();

/**
 * The NATS header block (`NATS/1.0` and one `name: value` line per header) of
 * `message`, built as one string and encoded once: the client's `MsgHdrs`
 * re-scans every header on each `set` (key lookup, MIME canonicalisation,
 * validation), which cost more than the rest of the publish. `msgId` becomes
 * `Nats-Msg-Id`. `raw` writes the headers exactly as given (a foreign
 * subject, `sendEndpoint`) instead of the binding's mapping. Throws a
 * TransportError (`SY_SEND_FAILED`) for a header name or value the protocol
 * cannot carry (CR, LF; a name with `:` or whitespace).
 */
export function headerBlock(message: TransportMessage, msgId: string | undefined, raw = false): Uint8Array {
  const source = message.headers;
  let block = 'NATS/1.0\r\n';
  for (const name in source) {
    const value = source[name] as string;
    checkName(name);
    if (!raw && name.charCodeAt(0) === 99 /* c */ && name.startsWith('ce-')) {
      // Percent-encoding also removes CR and LF.
      block += `${name}: ${NEEDS_ENCODING.test(value) ? percentEncode(value) : value}\r\n`;
      continue;
    }
    block += `${name}: ${checkValue(name, value)}\r\n`;
    if (!raw && name === 'content-type' && !isStructured(value)) {
      block += `${DATACONTENTTYPE}: ${percentEncode(value)}\r\n`;
    }
  }
  if (!raw) {
    if (source['ce-id'] !== message.id) block += `${SyHeader.id}: ${checkValue(SyHeader.id, message.id)}\r\n`;
    if (message.key !== undefined && source['ce-partitionkey'] !== message.key) {
      block += `${SyHeader.key}: ${checkValue(SyHeader.key, message.key)}\r\n`;
    }
    if (message.deliverAt !== undefined) block += `${SyHeader.deliverAt}: ${message.deliverAt}\r\n`;
  }
  if (msgId !== undefined) block += `Nats-Msg-Id: ${checkValue('Nats-Msg-Id', msgId)}\r\n`;
  return encoder.encode(`${block}\r\n`);
}

const BAD_NAME = /[\s:]/;
const BAD_VALUE = /[\r\n]/;

function checkName(name: string): void {
  if (name.length === 0 || BAD_NAME.test(name)) {
    throw new TransportError(ErrorCode.SendFailed, `nats: header name '${name}' is empty or holds ':' or whitespace`);
  }
}

function checkValue(name: string, value: string): string {
  if (BAD_VALUE.test(value)) {
    throw new TransportError(ErrorCode.SendFailed, `nats: the value of header '${name}' holds CR or LF`);
  }
  return value;
}

/**
 * Pre-encoded headers in the shape the client's publish reads (it calls
 * `encode()` and nothing else), for {@link headerBlock}'s bytes.
 */
export function encodedHeaders(bytes: Uint8Array): MsgHdrs {
  return { encode: () => bytes } as unknown as MsgHdrs;
}

/**
 * The message carried by a received NATS message, in core's form: binding
 * header names lowercased (NATS header names are case-insensitive), `ce-*`
 * values percent-decoded (and unquoted, as the binding asks of a receiver),
 * `ce-datacontenttype` as `content-type` when that is absent. The id is
 * `sy-id`, else `ce-id`, else `''` (a foreign message without either: the
 * caller gives it one). `hdrs` is the client's parsed headers, or the raw
 * header block (see {@link rawHeaderBlock}); a name given twice keeps its first value.
 */
export function fromNats(hdrs: MsgHdrs | Uint8Array | undefined, data: Uint8Array): TransportMessage {
  const incoming = new Incoming();
  if (hdrs instanceof Uint8Array) {
    const lines = blockDecoder.decode(hdrs).split('\r\n');
    // lines[0] is the status line (`NATS/1.0`); the block ends with an empty line.
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      if (colon > 0) incoming.add(line.slice(0, colon), line.slice(colon + 1).trim());
    }
  } else if (hdrs) {
    // Iterating the headers reads the client's map; keys() + get() would scan every key per get.
    for (const [raw, values] of hdrs) incoming.add(raw, values[0] ?? '');
  }
  return incoming.message(data);
}

const blockDecoder = new TextDecoder();

/**
 * The raw header block of a received JetStream message, read from the client's message
 * without letting the client parse it: `MsgHdrs` re-scans every header while it adds the
 * next, which cost more than the rest of the delivery. Undefined when the message has no
 * headers or the client's message is not of the shape this was written for (then read
 * `msg.headers`).
 */
export function rawHeaderBlock(msg: JsMsg): Uint8Array | undefined {
  const inner = (msg as unknown as { msg?: { _rdata?: unknown; _msg?: { hdr?: unknown } } }).msg;
  const data = inner?._rdata;
  const length = inner?._msg?.hdr;
  if (!(data instanceof Uint8Array) || typeof length !== 'number' || length <= 0) return undefined;
  return data.subarray(0, length);
}

/** Collects the headers of one received message. */
class Incoming {
  readonly headers: Record<string, string> = {};
  id: string | undefined;
  key: string | undefined;
  deliverAt: number | undefined;

  add(raw: string, value: string): void {
    const first = raw.charCodeAt(0);
    // Only names starting with c/C can be binding headers: lowercase just those.
    const name = first === 67 || first === 99 ? bindingName(raw) : raw;
    const headers = this.headers;
    if (name in headers) return;
    if (name.startsWith('ce-')) headers[name] = decodeValue(value);
    else if (name === 'content-type') headers[name] = normaliseContentType(value);
    else if (name === SyHeader.id) this.id ??= value;
    else if (name === SyHeader.key) this.key ??= value;
    else if (name === SyHeader.deliverAt) {
      const at = Number(value);
      if (Number.isFinite(at)) this.deliverAt ??= at;
    } else if (!name.startsWith('Nats-')) headers[name] = value;
  }

  message(data: Uint8Array): TransportMessage {
    const headers = this.headers;
    const declared = headers[DATACONTENTTYPE];
    if (declared !== undefined) {
      headers['content-type'] ??= declared;
      delete headers[DATACONTENTTYPE];
    }
    const key = this.key ?? headers['ce-partitionkey'];
    const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = {
      id: this.id ?? headers['ce-id'] ?? '',
      headers,
      body: data,
    };
    if (key !== undefined) message.key = key;
    if (this.deliverAt !== undefined) message.deliverAt = this.deliverAt;
    return message;
  }
}

/** `Ce-Id` → `ce-id`, `Content-Type` → `content-type`; any other name unchanged. */
function bindingName(name: string): string {
  if (name.startsWith('ce-') || name === 'content-type') return name;
  const lower = name.toLowerCase();
  return lower.startsWith('ce-') || lower === 'content-type' ? lower : name;
}

/** The binding's structured-mode test: `application/cloudevents…`, matched case-insensitively. */
function isStructured(contentType: string): boolean {
  return contentType.length >= 23 && contentType.slice(0, 23).toLowerCase() === 'application/cloudevents';
}

function normaliseContentType(value: string): string {
  return isStructured(value) && !value.startsWith('application/cloudevents')
    ? `application/cloudevents${value.slice(23)}`
    : value;
}

/**
 * Percent-encode per the binding: each UTF-8 byte of a character outside
 * U+0021–U+007E, and of space, `"` and `%`, as `%XY` (upper case).
 */
export function percentEncode(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const char of value) {
    if (!NEEDS_ENCODING.test(char)) {
      out += char;
      continue;
    }
    for (const byte of encoder.encode(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * A header value as the binding's receiver reads it: a double-quoted string
 * unquoted (backslash escapes resolved), then one round of percent-decoding.
 * A value whose percent-encoding is not valid UTF-8 (or a lone `%`, as older
 * senders wrote it) is kept as it came.
 */
export function decodeValue(value: string): string {
  let text = value;
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) {
    text = text.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  if (!text.includes('%')) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
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
