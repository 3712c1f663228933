import { describe, expect, it } from 'vitest';
import { formatTraceparent, parseTraceparent, traceIdOf } from './trace-context.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('W3C trace context', () => {
  it('parses a traceparent into a remote span context, with its tracestate', () => {
    expect(parseTraceparent(`00-${TRACE}-${SPAN}-01`)).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      traceFlags: 1,
      isRemote: true,
    });
    const withState = parseTraceparent(`00-${TRACE}-${SPAN}-00`, 'vendor=abc');
    expect(withState?.traceFlags).toBe(0);
    expect(withState?.traceState?.get('vendor')).toBe('abc');
  });

  it('refuses malformed ones: all-zero ids, uppercase hex, another version, wrong length', () => {
    for (const bad of [
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `01-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-extra`,
      `00-${TRACE}-${SPAN}-1`,
      '',
    ])
      expect(parseTraceparent(bad), bad).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });

  it('formats a span context back to the same text, and reads its trace id for log lines', () => {
    for (const flags of ['00', '01']) {
      const text = `00-${TRACE}-${SPAN}-${flags}`;
      expect(formatTraceparent(parseTraceparent(text) as NonNullable<ReturnType<typeof parseTraceparent>>)).toBe(text);
    }
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, traceFlags: 0xab })).toBe(`00-${TRACE}-${SPAN}-ab`);
    expect(traceIdOf(`00-${TRACE}-${SPAN}-01`)).toBe(TRACE);
    expect(traceIdOf('garbage')).toBeUndefined();
  });
});
