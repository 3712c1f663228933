import { createService, ErrorCode } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { SqsTransport } from '../src/index.js';

describe('start() against a broker that refuses connections', () => {
  it('rejects within a few seconds with SY_UNREACHABLE naming the address, and the service stays stopped', async () => {
    const service = createService({
      name: 'fail-fast',
      transport: new SqsTransport({
        endpoint: 'http://127.0.0.1:1',
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
      handleSignals: false,
    });
    const started = Date.now();
    const error = await service.start().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(error).toMatchObject({ code: ErrorCode.Unreachable });
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect(service.health().state).toBe('stopped');
  });
});
