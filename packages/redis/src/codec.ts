import {
  coreHeaderName,
  ErrorCode,
  messageSize,
  TransportError,
  type TransportMessage,
} from '@switchyard/core/transport';

/**
 * How channels map to keys, and messages to stream fields. Every key starts
 * with the transport's prefix; nothing else in Redis is touched.
 */
export class Keys {
  /** The consumer group every channel's stream carries; one group per stream, so one per channel. */
  static readonly group = 'switchyard';

  constructor(readonly prefix: string) {}

  /** The stream holding `channel`'s messages. */
  stream(channel: string): string {
    return `${this.prefix}:ch:${channel}`;
  }

  /** The sorted set holding `channel`'s messages until they are due (score = epoch ms). */
  delay(channel: string): string {
    return `${this.prefix}:delay:${channel}`;
  }

  /** Hash channel → space-separated subscription patterns. */
  get subs(): string {
    return `${this.prefix}:subs`;
  }

  /** Counter bumped whenever the subscription hash changes. */
  get subsVersion(): string {
    return `${this.prefix}:subs:v`;
  }

  /** Marker that makes one send call idempotent. */
  sent(token: string): string {
    return `${this.prefix}:sent:${token}`;
  }
}

/** Keys for a foreign stream consumed as an endpoint: the "channel" is the stream's own key. */
export class EndpointKeys extends Keys {
  override stream(endpoint: string): string {
    return endpoint;
  }

  override delay(endpoint: string): string {
    return `${this.prefix}:delay:endpoint:${endpoint}`;
  }
}

/**
 * Pack `messages` into the single binary argument the send and publish scripts
 * read: per message, when `targets` is given, a u32 count and u32 target
 * indexes, then five u32-length-prefixed strings: id, headers JSON, body, key
 * ('' or '+key'), deliverAt ('' or epoch ms). Throws a TransportError
 * (`SY_TOO_LARGE`) for a message over `maxBytes` as core's `messageSize` counts it.
 */
export function packMessages(
  messages: readonly TransportMessage[],
  maxBytes: number,
  targets?: ReadonlyArray<readonly number[]>,
): Buffer {
  const headers: string[] = new Array(messages.length);
  let bound = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const json = JSON.stringify(m.headers);
    headers[i] = json;
    // The headers JSON is most of a message: counted exactly, so a batch's buffer is not three times too
    // large (big buffers are external memory and bring on full GCs). UTF-8 takes at most 3 bytes per
    // UTF-16 unit for the short rest; deliverAt is at most 16 digits.
    bound += 20 + m.body.byteLength + Buffer.byteLength(json) + 3 * (m.id.length + (m.key?.length ?? 0) + 1) + 16;
    if (targets) bound += 4 + 4 * targets[i]!.length;
  }
  const buf = Buffer.allocUnsafe(bound);
  let o = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (targets) {
      const list = targets[i]!;
      o = buf.writeUInt32BE(list.length, o);
      for (const target of list) o = buf.writeUInt32BE(target, o);
    }
    o = writeString(buf, o, m.id);
    const headersAt = o;
    o = writeString(buf, o, headers[i]!);
    const body = m.body;
    // The JSON is longer than names + values, so only a message near the limit needs the exact count.
    if (o - headersAt + body.byteLength > maxBytes) checkSize(m, maxBytes);
    o = buf.writeUInt32BE(body.byteLength, o);
    buf.set(body, o);
    o += body.byteLength;
    o = writeString(buf, o, m.key === undefined ? '' : `+${m.key}`);
    o = writeString(buf, o, m.deliverAt === undefined ? '' : String(Math.trunc(m.deliverAt)));
  }
  return buf.subarray(0, o);
}

function writeString(buf: Buffer, offset: number, text: string): number {
  if (text.length === 0) return buf.writeUInt32BE(0, offset);
  const written = buf.write(text, offset + 4);
  buf.writeUInt32BE(written, offset);
  return offset + 4 + written;
}

/**
 * Throws a TransportError (`SY_TOO_LARGE`) when `message` is over `maxBytes` as core's
 * `messageSize` counts it (the check `packMessages` makes); returns that size otherwise.
 */
export function checkSize(message: TransportMessage, maxBytes: number): number {
  const size = messageSize(message);
  if (size > maxBytes) {
    throw new TransportError(
      ErrorCode.TooLarge,
      `message '${message.id}' is ${size} bytes, over the redis transport's limit of ${maxBytes}`,
    );
  }
  return size;
}

/** A stream entry read back: the message and the deliveries it had before this entry (from nack). */
export interface DecodedEntry {
  readonly message: TransportMessage;
  readonly priorDeliveries: number;
}

/**
 * Decode the flat field list of a stream entry. Never throws: an entry written
 * by someone else, with missing or malformed fields, is still delivered (with
 * the stream id as message id and whatever headers parse) so that core can
 * dead-letter it instead of it being lost or crashing the consumer.
 *
 * Besides the transport's own one-letter fields, a plain `XADD` by a foreign
 * producer is read as CloudEvents: fields named `ce_<attribute>` or
 * `ce-<attribute>` are attributes, `content-type` the content type, `data`
 * the body (binary mode; or the whole event as JSON when `content-type` is
 * `application/cloudevents+json`, structured mode). Its id is `ce_id`.
 */
export function decodeEntry(entryId: string, fields: readonly Buffer[]): DecodedEntry {
  let id = entryId;
  let headers: Record<string, string> = {};
  let body: Uint8Array = new Uint8Array(0);
  let key: string | undefined;
  let deliverAt: number | undefined;
  let priorDeliveries = 0;
  let foreign: Record<string, string> | undefined;
  let sawId = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.length > 1) {
      foreignField(name.toString(), value);
      continue;
    }
    // Field names are one ASCII letter; switching on the byte skips a string decode per field.
    switch (String.fromCharCode(name[0]!)) {
      case 'i':
        id = value.toString();
        sawId = true;
        break;
      case 'h':
        headers = parseHeaders(value.toString());
        break;
      case 'b':
        // A plain Uint8Array view (no copy): callers compare bodies as Uint8Array, not Buffer.
        body = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
        break;
      case 'k':
        key = value.toString();
        break;
      case 't': {
        const at = Number(value.toString());
        if (Number.isFinite(at)) deliverAt = at;
        break;
      }
      case 'd': {
        const d = Number(value.toString());
        if (Number.isInteger(d) && d > 0) priorDeliveries = d;
        break;
      }
    }
  }
  if (foreign !== undefined) {
    headers = { ...foreign, ...headers };
    if (!sawId && headers['ce-id'] !== undefined) id = headers['ce-id'];
  }
  const message: { -readonly [K in keyof TransportMessage]: TransportMessage[K] } = { id, headers, body };
  if (key !== undefined) message.key = key;
  if (deliverAt !== undefined) message.deliverAt = deliverAt;
  return { message, priorDeliveries };

  function foreignField(name: string, value: Buffer): void {
    if (name === 'data') {
      body = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      return;
    }
    const core = coreHeaderName(name);
    if (core !== 'content-type' && !core.startsWith('ce-')) return;
    foreign ??= {};
    foreign[core] = value.toString();
  }
}

/** Headers as a string map; from anything that is not a JSON object of strings, keeps what it can. */
function parseHeaders(text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const object = parsed as Record<string, unknown>;
  // Fast path (what this transport writes): every value a string. JSON.parse makes a '__proto__' key an own
  // property, never a prototype, but such a map is rebuilt without it so no consumer ever trips on it.
  let clean = !Object.hasOwn(object, '__proto__');
  if (clean) {
    for (const name in object) {
      if (typeof object[name] !== 'string') {
        clean = false;
        break;
      }
    }
  }
  if (clean) return object as Record<string, string>;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(object)) {
    if (typeof value === 'string' && name !== '__proto__') headers[name] = value;
  }
  return headers;
}
