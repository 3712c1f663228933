import { headers as natsHeaders } from '@nats-io/transport-node';
import type { TransportMessage } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { checkSize, decodeValue, fromNats, headerBlock, percentEncode } from './codec.js';

const body = new Uint8Array([1, 2, 3]);

/** The headers a receiver gets for `message`: its header block, parsed as the client parses it. */
function toNatsHeaders(message: TransportMessage, msgId?: string, raw?: boolean) {
  const text = new TextDecoder().decode(headerBlock(message, msgId, raw));
  expect(text.startsWith('NATS/1.0\r\n') && text.endsWith('\r\n\r\n')).toBe(true);
  const h = natsHeaders();
  for (const line of text.split('\r\n').slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    h.append(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return h;
}

describe('nats codec (CloudEvents NATS binding, binary mode)', () => {
  it('carries ce-* as NATS headers of the same name, the content type as content-type and ce-datacontenttype', () => {
    const headers = { 'ce-id': 'm1', 'ce-type': 'order.placed', 'content-type': 'application/json' };
    const h = toNatsHeaders({ id: 'm1', headers, body });
    expect(h.keys().sort()).toEqual(['ce-datacontenttype', 'ce-id', 'ce-type', 'content-type']);
    expect(h.get('ce-datacontenttype')).toBe('application/json');
    expect(fromNats(h, body)).toEqual({ id: 'm1', headers, body });
  });

  it('writes no ce-datacontenttype for a structured-mode message (its content type says structured)', () => {
    const h = toNatsHeaders({ id: 'm1', headers: { 'content-type': 'application/cloudevents+json' }, body });
    expect(h.has('ce-datacontenttype')).toBe(false);
  });

  it('adds sy-* headers for an id, key or due time that the CloudEvents headers do not carry, and drops Nats-* headers', () => {
    const message = { id: 'other', headers: { 'ce-id': 'm1' }, body, key: 'k', deliverAt: 1_700_000_000_000 };
    const h = toNatsHeaders(message);
    h.set('Nats-Msg-Id', 'x');
    expect(fromNats(h, body)).toEqual(message);
    const keyed = toNatsHeaders({ id: 'm1', headers: { 'ce-id': 'm1', 'ce-partitionkey': 'k' }, body, key: 'k' });
    expect(keyed.has('sy-key')).toBe(false);
    expect(fromNats(keyed, body).key).toBe('k');
  });

  it("percent-encodes ce-* values as the binding says (the spec's own example) and decodes them back", () => {
    expect(percentEncode('Euro € 😀')).toBe('Euro%20%E2%82%AC%20%F0%9F%98%80');
    expect(percentEncode('a"b%c')).toBe('a%22b%25c');
    expect(percentEncode('urn:plain/ok-1')).toBe('urn:plain/ok-1');
    const headers = { 'ce-id': 'm1', 'ce-source': 'Euro € 😀', 'ce-tenant': '50% off' };
    const h = toNatsHeaders({ id: 'm1', headers, body });
    expect(h.get('ce-source')).toBe('Euro%20%E2%82%AC%20%F0%9F%98%80');
    expect(h.get('ce-tenant')).toBe('50%25%20off');
    expect(fromNats(h, body).headers).toEqual(headers);
  });

  it('reads what a foreign producer writes: any header-name case, quoted values, lower-case hex, ce-datacontenttype', () => {
    const h = natsHeaders();
    h.set('Ce-Id', 'f-1');
    h.set('CE-SPECVERSION', '1.0');
    h.set('ce-source', '"/my context\\"x\\""');
    h.set('ce-subject', 'caf%c3%a9');
    h.set('ce-datacontenttype', 'application/json');
    const message = fromNats(h, body);
    expect(message.id).toBe('f-1');
    expect(message.headers).toEqual({
      'ce-id': 'f-1',
      'ce-specversion': '1.0',
      'ce-source': '/my context"x"',
      'ce-subject': 'café',
      'content-type': 'application/json',
    });
  });

  it('keeps a value whose percent-encoding is not UTF-8 (an overlong %C0%A0) or a bare % as it came', () => {
    expect(decodeValue('%C0%A0')).toBe('%C0%A0');
    expect(decodeValue('100%')).toBe('100%');
  });

  it('gives a message without sy-id or ce-id the id "" (the consumer fills in one)', () => {
    expect(fromNats(natsHeaders(), body).id).toBe('');
    expect(fromNats(undefined, body).id).toBe('');
  });

  it('writes Nats-Msg-Id, and raw headers exactly as given (no binding mapping, no sy-*)', () => {
    const raw = toNatsHeaders(
      { id: 'r1', headers: { tenantId: 'acme', 'trace.id': 't 1', 'content-type': 'application/json' }, body },
      'r1',
      true,
    );
    expect(raw.keys().sort()).toEqual(['Nats-Msg-Id', 'content-type', 'tenantId', 'trace.id']);
    expect(raw.get('trace.id')).toBe('t 1');
    expect(raw.get('Nats-Msg-Id')).toBe('r1');
  });

  it('refuses a header the protocol cannot carry with SY_SEND_FAILED (CR/LF in a value, a bad name)', () => {
    expect(() => headerBlock({ id: 'm', headers: { tenantId: 'a\r\nb' }, body }, undefined)).toThrow(
      expect.objectContaining({ code: 'SY_SEND_FAILED' }),
    );
    expect(() => headerBlock({ id: 'm', headers: { 'a b': 'x' }, body }, undefined)).toThrow(
      expect.objectContaining({ code: 'SY_SEND_FAILED' }),
    );
    // In a ce- attribute, CR and LF are percent-encoded like any other control character.
    expect(toNatsHeaders({ id: 'm', headers: { 'ce-id': 'm', 'ce-subject': 'a\nb' }, body }).get('ce-subject')).toBe(
      'a%0Ab',
    );
  });

  it('reads the raw header block the same as the client-parsed headers (first value of a repeated name wins)', () => {
    const message = {
      id: 'other',
      headers: { 'ce-id': 'm1', 'ce-source': 'Euro € 😀', tenantId: 'acme', 'content-type': 'application/json' },
      body,
      key: 'k',
      deliverAt: 1_700_000_000_000,
    };
    const block = headerBlock(message, 'm1.x');
    expect(fromNats(block, body)).toEqual(fromNats(toNatsHeaders(message, 'm1.x'), body));
    expect(fromNats(block, body)).toEqual(message);
    const repeated = new TextEncoder().encode('NATS/1.0\r\nce-id: a\r\nce-id: b\r\nCe-Type: t\r\n\r\n');
    expect(fromNats(repeated, body).headers).toEqual({ 'ce-id': 'a', 'ce-type': 't' });
  });

  it('rejects a message over the limit with SY_TOO_LARGE', () => {
    expect(() => checkSize({ id: 'm', headers: {}, body: new Uint8Array(11) }, 10)).toThrow(
      expect.objectContaining({ code: 'SY_TOO_LARGE' }),
    );
  });
});
