import { describe, expect, it } from 'vitest';
import { transportFromUrl } from './from-url.js';
import { resolveOptions } from './options.js';

describe('nats options', () => {
  it('has defaults and parses servers with credentials', () => {
    const options = resolveOptions({ url: 'nats://u:p%40ss@a:4223,nats://b' });
    expect(options.servers).toEqual(['a:4223', 'b:4222']);
    expect(options.user).toBe('u');
    expect(options.pass).toBe('p@ss');
    expect(options.prefix).toBe('switchyard');
    expect(options.ackWaitMs).toBe(30_000);
    expect(resolveOptions().servers).toEqual(['127.0.0.1:4222']);
    expect(resolveOptions().tls).toBe(false);
    expect(resolveOptions({ url: 'tls://nats.example' }).tls).toBe(true);
  });

  it('throws a ConfigurationError that names the bad option', () => {
    expect(() => resolveOptions({ prefix: 'a.b' })).toThrow(/'prefix'/);
    expect(() => resolveOptions({ ackWaitMs: 10 })).toThrow(/'ackWaitMs'/);
    expect(() => resolveOptions({ url: 'http://x' })).toThrow(/nats:\/\//);
    expect(() => resolveOptions({ sendTimeoutMs: 200, publishAckTimeoutMs: 500 })).toThrow(/publishAckTimeoutMs/);
    expect(() => resolveOptions({ url: 'nats://u:secret@[bad' })).toThrow(/\*\*\*/);
  });

  it('reads options from the URL query and rejects unknown parameters', () => {
    const transport = transportFromUrl('nats://127.0.0.1:4222?prefix=shop&ackWaitMs=5000');
    expect(transport.prefix).toBe('shop');
    expect(transport.capabilities.maxMessageBytes).toBe(1024 * 1024);
    expect(() => transportFromUrl('nats://127.0.0.1?prefx=shop')).toThrow(/'prefx' is unknown/);
    expect(() => transportFromUrl('nats://127.0.0.1?ackWaitMs=soon')).toThrow(/must be a number/);
  });

  it('names a bad server URL with its password masked', () => {
    expect(() => resolveOptions({ url: 'nats://u:secret@a:4222,nats://v:other@b:99999' })).toThrow(
      "nats url 'nats://u:***@a:4222,nats://v:***@b:99999' is not a valid URL",
    );
  });
});
