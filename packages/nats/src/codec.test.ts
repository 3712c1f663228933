import { headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { checkSize, decodeValue, fromNats, percentEncode, toNatsHeaders } from './codec.js';

const body = new Uint8Array([1, 2, 3]);

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

  it('takes the id from the fallback when the message carries none', () => {
    expect(fromNats(natsHeaders(), body, () => 'nats:S/7').id).toBe('nats:S/7');
    expect(fromNats(undefined, body).id).toBe('');
  });

  it('rejects a message over the limit with SY_TOO_LARGE', () => {
    expect(() => checkSize({ id: 'm', headers: {}, body: new Uint8Array(11) }, 10)).toThrow(
      expect.objectContaining({ code: 'SY_TOO_LARGE' }),
    );
  });
});
