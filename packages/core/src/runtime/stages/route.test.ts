import { describe, expect, it, vi } from 'vitest';
import { delivery, deliveryRun, message, registration } from '../../../test/stage-fixtures.js';
import { ErrorCode } from '../../errors.js';
import { decode, Header } from '../../message/codec.js';
import type { TransportMessage } from '../../transport/types.js';
import { routeStage } from './route.js';

const decoded = (of: TransportMessage) => {
  const run = deliveryRun(delivery(of));
  run.envelope = decode(of, 1_000_000);
  return run;
};

describe('route stage', () => {
  const { registry, handler } = registration();
  const scope = { service: 'svc', patternFiltering: 'server' as const };

  it('chooses the distributed handler of a command addressed to this service', () => {
    const run = decoded(message());
    const next = vi.fn(() => undefined);
    routeStage(registry, scope).wrap(next)(run);
    expect(run.handlers).toEqual([handler]);
    expect(next).toHaveBeenCalledOnce();
  });

  it('rejects a command addressed to another service, or one nobody here handles', () => {
    const step = routeStage(registry, scope).wrap(() => undefined);
    expect(() => step(decoded(message({ target: 'other' })))).toThrow(
      expect.objectContaining({ code: ErrorCode.Misaddressed }),
    );
    expect(() => step(decoded(message({ name: 'test.unknown' })))).toThrow(
      expect.objectContaining({ code: ErrorCode.NoHandler }),
    );
  });

  it('sends a retry or replay to the handler it names only, and rejects an unknown one', () => {
    const step = routeStage(registry, scope).wrap(() => undefined);
    const base = message();
    const run = decoded({ ...base, headers: { ...base.headers, [Header.targetHandler]: handler.id } });
    step(run);
    expect(run.handlers).toEqual([handler]);
    expect(() => step(decoded({ ...base, headers: { ...base.headers, [Header.targetHandler]: 'gone' } }))).toThrow(
      expect.objectContaining({ code: ErrorCode.NoHandler }),
    );
  });

  it('lets an unwanted event through with no handlers where the transport filters on the client', () => {
    const event = message({ kind: 'event', name: 'nobody.wants.this' });
    expect(() => routeStage(registry, scope).wrap(() => undefined)(decoded(event))).toThrow(
      expect.objectContaining({ code: ErrorCode.NoHandler }),
    );
    const run = decoded(event);
    routeStage(registry, { service: 'svc', patternFiltering: 'client' }).wrap(() => undefined)(run);
    expect(run.handlers).toEqual([]);
  });
});
