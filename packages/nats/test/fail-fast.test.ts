import { createService, ErrorCode } from '@switchyard/core';
import type { ConnectionState } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { NatsTransport } from '../src/index.js';

describe('start() against a NATS server that refuses connections', () => {
  it('rejects within a few seconds with SY_UNREACHABLE naming the address, and reports the failed connect', async () => {
    const transport = new NatsTransport({ url: 'nats://127.0.0.1:1' });
    const states: ConnectionState[] = [];
    const stop = transport.watchConnection((state) => states.push(state));
    const service = createService({ name: 'fail-fast', transport, handleSignals: false });
    const started = Date.now();
    const error = await service.start().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    stop();
    expect(Date.now() - started).toBeLessThan(6_000);
    expect(error).toMatchObject({ code: ErrorCode.Unreachable });
    expect((error as Error).message).toContain('127.0.0.1:1');
    expect(service.health().state).toBe('stopped');
    expect(states[0]).toMatchObject({ status: 'disconnected', endpoint: 'nats://127.0.0.1:1' });
    await transport.close();
  });
});
