import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ConfigurationError,
  createService,
  defineCommand,
  defineEvent,
  defineQuery,
  ErrorCode,
} from '@switchyard/core';
import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createFlow, type Flow, ManualClock, waitFor } from '../src/index.js';

const Ping = defineCommand('ping', z.object({ n: z.number() }));
const Pinged = defineEvent('ping.done', z.object({ n: z.number() }));
const Count = defineQuery('ping.count', z.object({}), z.number());

const run = promisify(execFile);

describe('service configuration errors say what to change', () => {
  it('rejects bad options at construction', () => {
    expect(() => createService({ name: 'bad name!', transport: 'memory://' })).toThrow(
      /service name 'bad name!' is invalid/,
    );
    expect(() => createService({ name: 'a', transport: 'memory://', transports: { b: 'memory://' } })).toThrow(
      /either 'transport'/,
    );
    expect(() => createService({ name: 'a', transport: 'carrier-pigeon://x' })).toThrow(
      /scheme 'carrier-pigeon:' is unknown/,
    );
    expect(() => createService({ name: 'a', transport: 'not a url' })).toThrow(ConfigurationError);
    expect(() => createService({ name: 'a', transports: {} })).toThrow(/no transport configured/);
    expect(() => createService({ name: 'a', transport: 'memory://', concurrency: 0 })).toThrow(
      /concurrency must be a positive integer/,
    );
    expect(() =>
      createService({ name: 'a', transport: 'memory://', services: { b: { transport: 'rabbit' } } }),
    ).toThrow(/mapped to transport 'rabbit', which is not configured/);
    expect(() => createService({ name: 'a', transport: 'memory://', retry: { jitter: 3 } })).toThrow(/retry.jitter/);
  });

  it('names the package to install when a transport package is missing', async () => {
    // Every scheme's package exists in this repository: a child process makes one unresolvable, as an
    // application that did not install it would see it.
    const fixture = fileURLToPath(new URL('./fixtures/missing-package.mjs', import.meta.url));
    const { stdout } = await run(process.execPath, ['--conditions=source', '--import', 'tsx', fixture], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
    });
    expect(JSON.parse(stdout.trim().split('\n').pop() ?? '{}')).toMatchObject({
      code: ErrorCode.MissingPackage,
      message: expect.stringContaining('npm install @switchyard/nats'),
    });
  });

  it('enforces one handler per command and query, and a clear error for none', async () => {
    const service = createService({ name: 'a', transport: 'memory://', handleSignals: false });
    service.handle(Ping, () => undefined);
    expect(() => service.handle(Ping, () => undefined, { name: 'other' })).toThrow(/already has a handler/);
    await expect(service.localBus.ask(Count, {})).rejects.toMatchObject({ code: ErrorCode.NoHandler });
    service.handle(Count, () => 42);
    expect(await service.localBus.ask(Count, {})).toBe(42);
    await service.start();
    expect(() => service.handle(Pinged, () => undefined)).toThrow(/after start/);
    await service.stop();
  });
});

describe('service runtime', () => {
  let flow: Flow;
  afterEach(() => flow?.stop());

  it('dead-letters a command whose target has only a local handler', async () => {
    flow = createFlow();
    const a = flow.service({ name: 'a' }).handle(Ping, () => undefined);
    await flow.start();
    await a.distributedBus.sendCommand('a', Ping, { n: 1 });
    await flow.spy.until(() => flow.spy.deadLettered.length === 1);
    expect(flow.spy.deadLettered[0]?.reason).toMatchObject({
      code: ErrorCode.NoHandler,
      message: "command 'ping' has no distributed handler in 'a'",
    });
  });

  it('runs a handler once when the broker delivers every message twice (inbox dedup)', async () => {
    flow = createFlow();
    const runs: number[] = [];
    const a = flow.service({
      name: 'a',
      transport: new MemoryTransport({ broker: flow.broker, faults: { duplicate: 1 } }),
    });
    a.handle(Ping, (p) => void runs.push(p.n), { distributed: true });
    await flow.start();
    for (let n = 0; n < 50; n++) await a.distributedBus.sendCommand('a', Ping, { n });
    await flow.spy.until(() => flow.spy.duplicates.length >= 50, 'a duplicate suppressed for each message');
    await flow.idle();
    expect(runs.sort((x, y) => x - y)).toEqual([...Array(50).keys()]);
  });

  it('loses nothing when the connection drops twice in the middle of 2,000 commands', async () => {
    flow = createFlow();
    const seen = new Set<number>();
    const transport = new MemoryTransport({ broker: flow.broker, faults: { deliveryDelayMs: 0 } });
    const a = flow.service({ name: 'a', transport, concurrency: 16 });
    a.handle(
      Ping,
      async (p) => {
        await new Promise((resolve) => setImmediate(resolve));
        seen.add(p.n);
      },
      { distributed: true },
    );
    await flow.start();
    for (let n = 0; n < 2_000; n++) {
      await a.distributedBus.sendCommand('a', Ping, { n });
      if (n === 500 || n === 1_500) transport.dropConnection();
    }
    await flow.spy.until(() => seen.size === 2_000, 'all 2,000 commands handled', 10_000);
    await flow.idle();
    expect(flow.spy.deadLettered).toHaveLength(0);
  });

  it('runs delayed retries on a controllable clock, with exponential backoff', async () => {
    const clock = new ManualClock();
    flow = createFlow({ clock });
    let calls = 0;
    const a = flow.service({
      name: 'a',
      retry: { instantRetries: 1, delayedRetries: 2, initialDelayMs: 60_000, multiplier: 3, jitter: 0 },
    });
    a.handle(
      Ping,
      () => {
        calls++;
        if (calls <= 4) throw new Error(`down ${calls}`);
      },
      { distributed: true },
    );
    await flow.start();
    await a.distributedBus.sendCommand('a', Ping, { n: 1 });
    await flow.spy.until(() => flow.spy.retried.length === 1);
    expect(calls).toBe(2);
    await clock.advance(59_999);
    await flow.idle();
    expect(calls).toBe(2);
    await clock.advance(1);
    await flow.spy.until(() => flow.spy.retried.length === 2);
    expect(calls).toBe(4);
    await clock.advance(180_000);
    await flow.spy.until(() => flow.spy.handled.length === 1);
    expect(calls).toBe(5);
    expect(flow.spy.handled[0]?.envelope?.headers.attempt).toBe(3);
    expect(flow.spy.deadLettered).toHaveLength(0);
  });

  it('finishes an in-flight handler on stop and leaves unstarted messages for the next consumer', async () => {
    const broker = new MemoryBroker();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const done: number[] = [];
    const first = createService({
      name: 'a',
      transport: new MemoryTransport({ broker }),
      concurrency: 1,
      handleSignals: false,
    });
    first.handle(
      Ping,
      async (p) => {
        if (p.n === 0) await gate;
        done.push(p.n);
      },
      { distributed: true },
    );
    await first.start();
    for (let n = 0; n < 5; n++) await first.distributedBus.sendCommand('a', Ping, { n });
    const stopping = first.stop();
    release();
    await stopping;
    expect(done).toEqual([0]);

    const second = createService({ name: 'a', transport: new MemoryTransport({ broker }), handleSignals: false });
    second.handle(Ping, (p) => void done.push(p.n), { distributed: true });
    await second.start();
    await waitFor(() => done.length >= 5, 'the five commands at the second service');
    await second.stop();
    expect(done.sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('routes commands and events across two transports through the service map', async () => {
    const left = new MemoryTransport({ broker: new MemoryBroker(), name: 'left' });
    const right = new MemoryTransport({ broker: new MemoryBroker(), name: 'right' });
    const transports = { left, right };
    const services = { alpha: { transport: 'left' }, beta: { transport: 'right' } };
    const got: string[] = [];
    const alpha = createService({ name: 'alpha', transports, services, handleSignals: false });
    const beta = createService({ name: 'beta', transports, services, handleSignals: false });
    alpha.handle(Pinged, (e) => void got.push(`alpha got event ${e.n}`), { distributed: true });
    beta.handle(
      Ping,
      async (p, ctx) => {
        got.push(`beta got command ${p.n}`);
        await ctx.publishEvent(Pinged, { n: p.n });
      },
      { distributed: true },
    );
    await alpha.start();
    await beta.start();
    try {
      await alpha.distributedBus.sendCommand('beta', Ping, { n: 7 });
      await waitFor(() => got.length >= 2, 'the command at beta and the event at alpha');
      expect(got).toEqual(['beta got command 7', 'alpha got event 7']);
      expect(right.broker.stats('beta')).toBeDefined();
      expect(left.broker.stats('beta')).toBeUndefined();
    } finally {
      await alpha.stop();
      await beta.stop();
    }
  });
});

describe('transport URLs', () => {
  it('picks the package by scheme alone, so multi-host URLs are the transport’s to parse', async () => {
    const { packageForUrl } = await import('@switchyard/core');
    expect(packageForUrl('kafka://127.0.0.1:9092,127.0.0.1:9093')).toBe('@switchyard/kafka');
    expect(packageForUrl('AMQP://guest:guest@127.0.0.1')).toBe('@switchyard/rabbitmq');
    expect(packageForUrl('sqlite:./x.db')).toBe('@switchyard/sqlite');
    expect(() => packageForUrl('127.0.0.1:5672')).toThrow(/scheme '127.0.0.1:' is unknown|is not a URL/);
  });
});
