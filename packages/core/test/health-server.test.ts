import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand } from '../src/contracts/contract.js';
import { ErrorCode } from '../src/errors.js';
import { MemoryBroker, MemoryTransport } from '../src/memory/index.js';
import { InMemoryDeadLetterStore } from '../src/resilience/memory-stores.js';
import type { ServiceHealth } from '../src/service/health.js';
import { serveHealth } from '../src/service/health-server.js';
import { createService } from '../src/service/service.js';

/** What the endpoint answers. */
interface HealthBody {
  readonly status: string;
  readonly services: readonly (ServiceHealth & { readonly service: string })[];
}

/** One real HTTP request (fetch); resolves with the status and the parsed JSON body (undefined for HEAD). */
async function get(url: string, method = 'GET'): Promise<{ status: number; body: HealthBody | undefined }> {
  const response = await fetch(url, { method });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const Work = defineCommand('health.work', z.object({ n: z.number() }));

describe('serveHealth: the HTTP health endpoint', () => {
  it('answers ready and live with 200 and the JSON of health() while the services run; 404, 405 otherwise', async () => {
    const broker = new MemoryBroker();
    const a = createService({ name: 'hs-a', transport: new MemoryTransport({ broker }), handleSignals: false });
    const b = createService({ name: 'hs-b', transport: new MemoryTransport({ broker }), handleSignals: false });
    await a.start();
    await b.start();
    const server = await serveHealth([a, b], { port: 0 });
    try {
      expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
      const ready = await get(`${server.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(ready.body?.status).toBe('ready');
      expect(ready.body?.services.map((s) => s.service)).toEqual(['hs-a', 'hs-b']);
      expect(ready.body?.services[0]).toMatchObject({ healthy: true, state: 'running', consuming: true });
      expect((await get(`${server.url}/health/live`)).status).toBe(200);
      expect(await get(`${server.url}/health/ready`, 'HEAD')).toEqual({ status: 200, body: undefined });
      expect((await get(`${server.url}/metrics`)).status).toBe(404);
      expect((await get(`${server.url}/health/ready`, 'POST')).status).toBe(405);
    } finally {
      await a.stop();
      await b.stop();
      await server.close();
    }
  });

  it("answers 503 on ready once a final failure under 'stop' ended consumption; live stays 200", async () => {
    const service = createService({
      name: 'hs-stop',
      transport: 'memory://hs-stop',
      handleSignals: false,
      deadLetters: new InMemoryDeadLetterStore(),
      finalFailure: 'stop',
      retry: { instantRetries: 0, delayedRetries: 0 },
    });
    service.handle(
      Work,
      () => {
        throw new Error('poison');
      },
      { distributed: true },
    );
    await service.start();
    const server = await serveHealth(service, { port: 0 });
    try {
      expect((await get(`${server.url}/health/ready`)).status).toBe(200);
      await service.distributedBus.sendCommand('hs-stop', Work, { n: 1 });
      await expect.poll(() => service.consumerStopped?.code, { timeout: 10_000 }).toBe(ErrorCode.ConsumerStopped);
      const ready = await get(`${server.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body?.status).toBe('unready');
      expect(ready.body?.services[0]).toMatchObject({ healthy: false, consuming: false });
      expect(ready.body?.services[0]?.lastError).toContain('stopped consuming');
      expect((await get(`${server.url}/health/live`)).status).toBe(200);
    } finally {
      await service.stop();
      await server.close();
    }
  });

  it('closes by itself once every one of its services stopped', async () => {
    const service = createService({ name: 'hs-close', transport: 'memory://hs-close', handleSignals: false });
    await service.start();
    const server = await serveHealth(service, { port: 0 });
    expect((await get(`${server.url}/health/live`)).status).toBe(200);
    await service.stop();
    await server.closed;
    await expect(get(`${server.url}/health/live`)).rejects.toThrow(/fetch failed/);
  });

  it('refuses a bad port, an empty list and a port in use with a ConfigurationError', async () => {
    const service = createService({ name: 'hs-bad', transport: 'memory://hs-bad', handleSignals: false });
    await expect(serveHealth(service, { port: 70_000 })).rejects.toMatchObject({ code: ErrorCode.Configuration });
    await expect(serveHealth([], { port: 0 })).rejects.toThrow(/at least one service/);
    const taken = await serveHealth(service, { port: 0 });
    try {
      await expect(serveHealth(service, { port: taken.port })).rejects.toThrow(/cannot listen on 127.0.0.1:\d+/);
    } finally {
      await taken.close();
    }
  });
});
