import { describe, expect, it } from 'vitest';
import { defineCommand } from '../contracts/contract.js';
import { ErrorCode } from '../errors.js';
import { MemoryTransport } from '../memory/memory-transport.js';
import type { Logger } from '../util/logger.js';
import { createService } from './service.js';

const Ping = defineCommand('lifecycle.ping', {
  '~standard': { version: 1, vendor: 'test', validate: (value) => ({ value }) },
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (_: object, message?: string) => {
    if (message !== undefined) lines.push(message);
  };
  return { lines, debug: record, info: record, warn: record, error: record };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('service lifecycle under broker outages', () => {
  it('reports health and logs each connection change once: lost, retrying, reconnected with its duration', async () => {
    const transport = new MemoryTransport();
    const logger = recordingLogger();
    const service = createService({ name: 'health-svc', transport, logger, handleSignals: false });
    expect(service.health()).toMatchObject({ state: 'new', healthy: false, consuming: false });
    await service.start();
    expect(service.health()).toMatchObject({ state: 'running', healthy: true, consuming: true });
    transport.dropConnection({ downForMs: 300 });
    expect(service.health()).toMatchObject({
      healthy: false,
      consuming: true,
      transport: { name: 'memory', connected: false, endpoint: 'memory://memory' },
      lastError: 'connection dropped (injected fault)',
    });
    await until(() => service.health().healthy, 'the connection to come back');
    expect(service.health().lastError).toBeUndefined();
    const changes = logger.lines.filter((line) => /broker/.test(line));
    expect(changes).toHaveLength(3);
    expect(changes[0]).toBe('lost the connection to the broker');
    expect(changes[1]).toBe('retrying the connection to the broker with backoff');
    expect(changes[2]).toMatch(/^reconnected to the broker after \d+\.\d s$/);
    await service.stop();
    expect(service.health()).toMatchObject({ state: 'stopped', healthy: false, consuming: false });
  });

  it('start() against an unreachable broker rejects fast with SY_UNREACHABLE naming it, and stays stopped', async () => {
    const transport = new MemoryTransport({ name: 'down' });
    transport.dropConnection({ downForMs: 60_000 });
    const service = createService({
      name: 'unreachable-svc',
      transport,
      handleSignals: false,
      connectTimeoutMs: 1_000,
    });
    const started = Date.now();
    await expect(service.start()).rejects.toMatchObject({
      code: ErrorCode.Unreachable,
      message: expect.stringContaining('the broker at down is unreachable'),
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(service.health().state).toBe('stopped');
  });

  it('with waitForBroker, start() resolves at once and the service consumes once the broker answers', async () => {
    const transport = new MemoryTransport();
    transport.dropConnection({ downForMs: 700 });
    const handled: unknown[] = [];
    const service = createService({ name: 'patient-svc', transport, waitForBroker: true, handleSignals: false });
    service.handle(Ping, async (payload) => void handled.push(payload), { distributed: true });
    await service.start();
    expect(service.health()).toMatchObject({ state: 'running', consuming: false, healthy: false });
    await until(() => service.health().healthy, 'the service to consume', 10_000);
    await service.distributedBus.sendCommand('patient-svc', Ping, { n: 1 });
    await until(() => handled.length === 1, 'the command to be handled');
    await service.stop();
  });

  it('stop() during the background attempts ends them', async () => {
    const transport = new MemoryTransport();
    transport.dropConnection({ downForMs: 60_000 });
    const service = createService({ name: 'gives-up-svc', transport, waitForBroker: true, handleSignals: false });
    await service.start();
    await service.stop();
    expect(service.health()).toMatchObject({ state: 'stopped', consuming: false });
  });
});
