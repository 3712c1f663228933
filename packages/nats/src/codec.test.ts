import { describe, expect, it } from 'vitest';
import { checkSize, fromNats, toNatsHeaders } from './codec.js';

const body = new Uint8Array([1, 2, 3]);

describe('nats codec (CloudEvents NATS binding, binary mode)', () => {
  it('carries ce-* and content-type as NATS headers of the same name, and nothing else when ids agree', () => {
    const headers = { 'ce-id': 'm1', 'ce-type': 'order.placed', 'content-type': 'application/json' };
    const h = toNatsHeaders({ id: 'm1', headers, body });
    expect(h.keys().sort()).toEqual(['ce-id', 'ce-type', 'content-type']);
    expect(fromNats(h, body)).toEqual({ id: 'm1', headers, body });
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

  it('rejects a message over the limit with SY_TOO_LARGE', () => {
    expect(() => checkSize({ id: 'm', headers: {}, body: new Uint8Array(11) }, 10)).toThrow(
      expect.objectContaining({ code: 'SY_TOO_LARGE' }),
    );
  });
});
