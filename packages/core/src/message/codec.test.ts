import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { decode, encode, Header, isValidMetadataKey } from './codec.js';
import type { Envelope } from './envelope.js';
import { toStructured } from './structured.js';

const envelope: Envelope = {
  headers: {
    id: '01936f5e-8a3c-7b21-9c4d-2f1e0a9b8c7d',
    name: 'order.placed',
    kind: 'event',
    source: 'order-service',
    correlationId: '01936f5e-8a3c-7b21-9c4d-2f1e0a9b8c7d',
    time: '2026-11-26T10:00:00.000Z',
    contentType: 'application/json',
    attempt: 1,
    metadata: {},
  },
  payload: { orderId: 'o-1' },
};
const message = encode(envelope);
const bytes = (text: string) => new TextEncoder().encode(text);
const decodeError = expect.objectContaining({ code: ErrorCode.Decode });

function without(...names: string[]): Record<string, string> {
  const headers = { ...message.headers };
  for (const name of names) delete headers[name];
  return headers;
}

describe('decode: required and defaulted attributes', () => {
  it('refuses a body that is not UTF-8 instead of patching it with replacement characters', () => {
    const body = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]);
    expect(() => decode({ ...message, body }, 1024)).toThrow(decodeError);
  });

  it('requires specversion 1.0', () => {
    expect(() => decode({ ...message, headers: { ...message.headers, [Header.specversion]: '0.3' } }, 1024)).toThrow(
      expect.objectContaining({ code: ErrorCode.Decode, message: expect.stringContaining("'0.3' is not supported") }),
    );
    expect(() => decode({ ...message, headers: without(Header.specversion) }, 1024)).toThrow(decodeError);
  });

  it('refuses a time that is no timestamp, also right after a valid one (the last valid time is cached)', () => {
    const at = (time: string) => decode({ ...message, headers: { ...message.headers, [Header.time]: time } }, 1024);
    expect(at('2026-11-26T10:00:00.001Z').headers.time).toBe('2026-11-26T10:00:00.001Z');
    expect(() => at('yesterday')).toThrow(
      expect.objectContaining({ code: ErrorCode.Decode, message: expect.stringContaining("time 'yesterday'") }),
    );
    expect(() => at('yesterday')).toThrow(decodeError);
    expect(at('2026-11-26T10:00:00.001Z').headers.time).toBe('2026-11-26T10:00:00.001Z');
  });

  it('requires id, type and source', () => {
    for (const name of [Header.id, Header.type, Header.source]) {
      expect(() => decode({ ...message, headers: without(name) }, 1024), name).toThrow(
        expect.objectContaining({ code: ErrorCode.Decode, message: expect.stringContaining(name) }),
      );
    }
  });

  it('defaults time to the receive time, and kind, attempt, correlation id and content type as documented', () => {
    const receivedAt = Date.parse('2026-12-01T08:30:00.000Z');
    const decoded = decode(
      {
        ...message,
        headers: without(Header.time, Header.kind, Header.attempt, Header.correlationId, Header.contentType),
      },
      1024,
      receivedAt,
    );
    expect(decoded.headers).toMatchObject({
      time: '2026-12-01T08:30:00.000Z',
      kind: 'event',
      attempt: 1,
      correlationId: envelope.headers.id,
      contentType: 'application/json',
    });
  });

  it('defaults the kind to command when a target service is given', () => {
    const headers = { ...without(Header.kind), [Header.targetService]: 'order-service' };
    expect(decode({ ...message, headers }, 1024).headers.kind).toBe('command');
  });

  it('refuses a time that is not a timestamp', () => {
    expect(() => decode({ ...message, headers: { ...message.headers, [Header.time]: 'yesterday' } }, 1024)).toThrow(
      decodeError,
    );
  });
});

describe('decode: structured mode', () => {
  it('reads an application/cloudevents+json body; the message headers win over the document', () => {
    const body = toStructured(message);
    const decoded = decode(
      {
        id: message.id,
        headers: { 'content-type': 'application/cloudevents+json; charset=utf-8', [Header.attempt]: '3' },
        body,
      },
      4096,
    );
    expect(decoded).toEqual({ ...envelope, headers: { ...envelope.headers, attempt: 3 } });
  });

  it('refuses a batch, a structured body that is not UTF-8, and one without specversion', () => {
    const batch = { id: 'b', headers: { 'content-type': 'application/cloudevents-batch+json' }, body: bytes('[]') };
    expect(() => decode(batch, 1024)).toThrow(decodeError);
    const notUtf8 = new Uint8Array([...bytes('{"id":"'), 0xff, ...bytes('"}')]);
    const broken = { id: 'x', headers: { 'content-type': 'application/cloudevents+json' }, body: notUtf8 };
    expect(() => decode(broken, 1024)).toThrow(decodeError);
    const old = bytes('{"specversion":"0.3","id":"1","type":"t","source":"s","data":{}}');
    expect(() =>
      decode({ id: '1', headers: { 'content-type': 'application/cloudevents+json' }, body: old }, 1024),
    ).toThrow(decodeError);
  });
});

describe('metadata keys in other systems’ forms', () => {
  it('camelCase, dotted and dashed keys survive encode and decode with their names; extension names as ce- attributes', () => {
    const metadata = { tenant: 'acme', tenantId: 't-7', 'trace.id': 'abc', 'user-agent': 'php/8.3' };
    const encoded = encode({ ...envelope, headers: { ...envelope.headers, metadata } });
    expect(encoded.headers).toMatchObject({
      'ce-tenant': 'acme',
      tenantId: 't-7',
      'trace.id': 'abc',
      'user-agent': 'php/8.3',
    });
    expect(decode(encoded, 4096).headers.metadata).toEqual(metadata);
  });

  it('refuses keys that name binding, broker or transport headers', () => {
    for (const key of [
      'ce-x',
      'ce_x',
      'cloudEvents:x',
      'x-death',
      'sy-key',
      'content-type',
      'Content-Type',
      'id',
      'has space',
    ]) {
      expect(isValidMetadataKey(key), key).toBe(false);
    }
    for (const key of ['tenant', 'tenantId', 'trace.id', 'user_id']) expect(isValidMetadataKey(key), key).toBe(true);
  });
});
