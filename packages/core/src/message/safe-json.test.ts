import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { safeParseJson } from './safe-json.js';

describe('safeParseJson', () => {
  it('parses ordinary JSON, escapes included', () => {
    expect(safeParseJson('{"a":1,"b":[true,null]}')).toEqual({ a: 1, b: [true, null] });
    expect(safeParseJson('{"name":"caf\\u00e9","protocol":"x"}')).toEqual({ name: 'café', protocol: 'x' });
    expect(safeParseJson('{"constructor":"just a string"}')).toEqual({ constructor: 'just a string' });
  });

  it('refuses prototype pollution, also when the key is spelled with escapes', () => {
    for (const text of [
      '{"__proto__":{"polluted":true}}',
      '{"a":{"__proto__":{"polluted":true}}}',
      '{"\\u005f_proto__":{"polluted":true}}',
      '{"__pro\\u0074o__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
    ]) {
      expect(() => safeParseJson(text), text).toThrow(expect.objectContaining({ code: ErrorCode.Decode }));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses truncated input', () => {
    expect(() => safeParseJson('{"a":')).toThrow(expect.objectContaining({ code: ErrorCode.Decode }));
  });
});
