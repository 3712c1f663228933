import { ConfigurationError, ErrorCode } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { RedisStreamsTransport, transportFromUrl } from '../src/index.js';

// No I/O here: construction validates options and never connects.
describe('redis transport options', () => {
  it.each([
    [{ url: 'http://127.0.0.1' }, /redis:\/\/ or rediss:\/\//],
    [{ url: 'not a url' }, /not a valid URL/],
    [{ url: 'redis://127.0.0.1/abc' }, /database number/],
    [{ prefix: '' }, /prefix/],
    [{ prefix: 'a b' }, /prefix/],
    [{ leaseMs: 0 }, /leaseMs/],
    [{ blockMs: 1.5 }, /blockMs/],
    [{ sendDedupTtlMs: -1 }, /sendDedupTtlMs/],
    [{ sendChunk: 100_000 }, /sendChunk/],
    [{ redis: { keyPrefix: 'x:' } }, /keyPrefix/],
  ])('rejects %j at construction with a ConfigurationError', (options, message) => {
    expect(() => new RedisStreamsTransport(options)).toThrow(ConfigurationError);
    expect(() => new RedisStreamsTransport(options)).toThrow(message);
  });

  it('transportFromUrl takes redis:// and rediss://, with options in the query', () => {
    const plain = transportFromUrl('redis://127.0.0.1:6379/2?prefix=shop&leaseMs=5000');
    expect(plain.name).toBe('redis');
    expect(plain.prefix).toBe('shop');
    expect(transportFromUrl('rediss://user:secret@example.invalid:6380').capabilities).toMatchObject({
      delayedDelivery: 'native',
      patternFiltering: 'server',
      durable: true,
      reconnect: true,
      orderingPerKey: false,
    });
    expect(() => transportFromUrl('redis://127.0.0.1?leaseMs=soon')).toThrow(/leaseMs/);
    expect(() => transportFromUrl('amqp://127.0.0.1')).toThrow(ConfigurationError);
  });

  it('rejects sends after close with SY_CLOSED, and close is idempotent without ever connecting', async () => {
    const t = new RedisStreamsTransport({ url: 'redis://127.0.0.1:1' });
    await t.close();
    await t.close();
    await expect(t.send('x', [])).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(t.publish([])).rejects.toMatchObject({ code: ErrorCode.Closed });
    await expect(t.consume('x', async () => {})).rejects.toMatchObject({ code: ErrorCode.Closed });
  });
});
