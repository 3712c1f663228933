import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { REMOTE_ERROR_TYPE } from '../src/bus/reply-wire.js';
import { DEFAULT_REPLY_CHANNEL_EXPIRY_MS, DEFAULT_REQUEST_TIMEOUT_MS } from '../src/bus/request.js';
import { defineQuery } from '../src/contracts/contract.js';
import { ErrorCode, RemoteError, SwitchyardError } from '../src/errors.js';
import { MemoryBroker } from '../src/memory/broker.js';
import { MemoryTransport } from '../src/memory/memory-transport.js';
import type { MessageHeaders } from '../src/message/envelope.js';
import { InMemoryDeadLetterStore } from '../src/resilience/memory-stores.js';
import type { ServiceOptions } from '../src/service/options.js';
import { createService, type Service } from '../src/service/service.js';
import type { DeliveryHandler, Transport } from '../src/transport/types.js';
import { otelFixture } from './otel-fixtures.js';

const Ask = defineQuery('rr.ask', z.object({ n: z.number() }), z.object({ n: z.number() }));
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let running: Service[] = [];
afterEach(async () => {
  await Promise.all(running.map((service) => service.stop()));
  running = [];
});

function service(name: string, transport: Transport, options: Partial<ServiceOptions> = {}): Service {
  const made = createService({
    name,
    transport,
    handleSignals: false,
    deadLetters: new InMemoryDeadLetterStore(),
    logger: silent,
    drainTimeoutMs: 1_000,
    ...options,
  });
  running.push(made);
  return made;
}

function until(predicate: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (predicate()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(check, 5);
    };
    check();
  });
}

const replyChannels = (broker: MemoryBroker) => broker.channels().filter((name) => name.startsWith('sy.reply.'));

describe('request/reply in core', () => {
  it('a transport without reply channels makes request throw a ConfigurationError naming it', async () => {
    const memory = new MemoryTransport();
    const bare: Transport = {
      name: 'bare',
      capabilities: memory.capabilities,
      provision: (topology) => memory.provision(topology),
      send: (channel, messages) => memory.send(channel, messages),
      publish: (messages) => memory.publish(messages),
      consume: (channel, handler, options) => memory.consume(channel, handler, options),
      ping: () => memory.ping(),
      close: () => memory.close(),
    };
    const caller = service('rr-bare', bare);
    const error = await caller.distributedBus.request('other', Ask, { n: 1 }).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(SwitchyardError);
    expect((error as SwitchyardError).code).toBe(ErrorCode.Configuration);
    expect((error as Error).message).toContain("transport 'bare' has no reply channels");
  });

  it('opens the reply channel at the first request, not before, and removes it at stop', async () => {
    const broker = new MemoryBroker();
    const caller = service('rr-lazy-caller', new MemoryTransport({ broker }));
    const replier = service('rr-lazy-replier', new MemoryTransport({ broker }));
    replier.handle(Ask, (query) => ({ n: query.n + 1 }), { distributed: true });
    await caller.start();
    await replier.start();
    expect(replyChannels(broker)).toEqual([]);
    expect(await caller.distributedBus.request(replier.name, Ask, { n: 1 })).toEqual({ n: 2 });
    expect(replyChannels(broker)).toHaveLength(1);
    await caller.stop();
    expect(replyChannels(broker)).toEqual([]);
    const after = await caller.distributedBus.request(replier.name, Ask, { n: 1 }).catch((error: unknown) => error);
    expect((after as SwitchyardError).code).toBe(ErrorCode.Closed);
  });

  it('on the wire: a query with ce-replyto, answered by a reply whose causation id is the request id', async () => {
    const broker = new MemoryBroker();
    const callerTransport = new MemoryTransport({ broker });
    const replies = callerTransport.replies;
    const seen: Array<Readonly<Record<string, string>>> = [];
    Object.defineProperty(callerTransport, 'replies', {
      value: {
        send: replies.send.bind(replies),
        open: (owner: string, handler: DeliveryHandler, options: { expireAfterMs: number }) =>
          replies.open(
            owner,
            (delivery) => {
              seen.push(delivery.message.headers);
              return handler(delivery);
            },
            options,
          ),
      },
    });
    const caller = service('rr-wire-caller', callerTransport);
    const replier = service('rr-wire-replier', new MemoryTransport({ broker }));
    const requests: MessageHeaders[] = [];
    replier.handle(
      Ask,
      (query, ctx) => {
        requests.push(ctx.headers);
        if (query.n < 0) throw new Error('negative');
        return { n: query.n };
      },
      { distributed: true },
    );
    await replier.start();
    await caller.distributedBus.request(replier.name, Ask, { n: 1 }, { metadata: { tenant: 't1' } });
    await caller.distributedBus.request(replier.name, Ask, { n: -1 }).catch(() => undefined);
    const [request] = requests;
    expect(request?.kind).toBe('query');
    expect(request?.replyTo).toMatch(/^sy\.reply\.rr-wire-caller-/);
    expect(seen[0]).toMatchObject({
      'ce-kind': 'reply',
      'ce-type': 'rr.ask',
      'ce-source': replier.name,
      'ce-causationid': request?.id,
      'ce-correlationid': request?.correlationId,
      'ce-tenant': 't1',
    });
    expect(seen[1]).toMatchObject({ 'ce-kind': 'reply', 'ce-type': REMOTE_ERROR_TYPE });
    expect(DEFAULT_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(DEFAULT_REPLY_CHANNEL_EXPIRY_MS).toBe(60_000);
  });

  it('a request nobody handles is answered with SY_NO_HANDLER at once, not dead-lettered', async () => {
    const broker = new MemoryBroker();
    const caller = service('rr-unrouted-caller', new MemoryTransport({ broker }));
    const replier = service('rr-unrouted-replier', new MemoryTransport({ broker }));
    const dead: unknown[] = [];
    replier.on('deadLettered', (record) => dead.push(record));
    await replier.start();
    const error = await caller.distributedBus
      .request(replier.name, Ask, { n: 1 }, { timeoutMs: 10_000 })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).remoteCode).toBe(ErrorCode.NoHandler);
    expect(dead).toEqual([]);
  });

  it('rejects an invalid payload with SY_VALIDATION before sending anything', async () => {
    const broker = new MemoryBroker();
    const caller = service('rr-invalid-caller', new MemoryTransport({ broker }));
    const sent: string[] = [];
    caller.on('sent', ({ outbound }) => sent.push(outbound.message.id));
    const error = await caller.distributedBus
      .request('anyone', Ask, { n: 'one' as unknown as number })
      .catch((failure: unknown) => failure);
    expect((error as SwitchyardError).code).toBe(ErrorCode.Validation);
    expect(sent).toEqual([]);
  });

  it('a payload the replier’s schema refuses comes back as a RemoteError with SY_VALIDATION, not a dead letter', async () => {
    const broker = new MemoryBroker();
    const Strict = defineQuery('rr.ask', z.object({ n: z.number().int() }));
    const caller = service('rr-remote-invalid-caller', new MemoryTransport({ broker }));
    const replier = service('rr-remote-invalid-replier', new MemoryTransport({ broker }));
    const dead: unknown[] = [];
    replier.on('deadLettered', (record) => dead.push(record));
    replier.handle(Strict, (query) => ({ n: query.n }), { distributed: true });
    await replier.start();
    const error = await caller.distributedBus
      .request(replier.name, Ask, { n: 1.5 })
      .catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).remoteCode).toBe(ErrorCode.Validation);
    expect(dead).toEqual([]);
  });

  it('abort rejects with the signal’s reason; the reply that comes later is dropped, logged and counted', async () => {
    const broker = new MemoryBroker();
    const otel = otelFixture();
    const warnings: string[] = [];
    const caller = service('rr-abort-caller', new MemoryTransport({ broker }), {
      telemetry: otel.telemetry,
      logger: { ...silent, warn: (_fields: object, message?: string) => void warnings.push(message ?? '') },
    });
    const replier = service('rr-abort-replier', new MemoryTransport({ broker }));
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    replier.handle(
      Ask,
      async (query) => {
        await held;
        return { n: query.n };
      },
      { distributed: true },
    );
    const dropped: string[] = [];
    caller.on('replyDropped', ({ reason }) => dropped.push(reason));
    await caller.start();
    await replier.start();
    const controller = new AbortController();
    const pending = caller.distributedBus
      .request(replier.name, Ask, { n: 1 }, { signal: controller.signal })
      .catch((error: unknown) => error);
    await until(() => replier.inFlight === 1);
    controller.abort(new Error('user gave up'));
    expect(((await pending) as Error).message).toBe('user gave up');
    release();
    await until(() => dropped.length === 1);
    expect(dropped).toEqual(['late']);
    expect(warnings).toContain('late reply dropped: no request is waiting for it');
    expect(await otel.sum('switchyard.replies.dropped', { 'switchyard.reason': 'late' })).toBe(1);
    await otel.shutdown();
  });

  it('stop rejects the requests still waiting with SY_CLOSED', async () => {
    const broker = new MemoryBroker();
    const caller = service('rr-stop-caller', new MemoryTransport({ broker }));
    // Nobody consumes the target's channel: the request waits.
    const pending = caller.distributedBus
      .request('rr-stop-nobody', Ask, { n: 1 }, { timeoutMs: 60_000 })
      .catch((error: unknown) => error);
    await until(() => replyChannels(broker).length === 1);
    await caller.stop();
    expect(((await pending) as SwitchyardError).code).toBe(ErrorCode.Closed);
  });

  it('a reply that cannot be sent is dropped and counted at the replier; the request is acked, not dead-lettered', async () => {
    const broker = new MemoryBroker();
    const caller = service('rr-undeliverable-caller', new MemoryTransport({ broker }));
    const replierTransport = new MemoryTransport({ broker });
    const replies = replierTransport.replies;
    Object.defineProperty(replierTransport, 'replies', {
      value: { open: replies.open.bind(replies), send: () => Promise.reject(new Error('broker said no')) },
    });
    const replier = service('rr-undeliverable-replier', replierTransport);
    const dropped: string[] = [];
    const dead: unknown[] = [];
    replier.on('replyDropped', ({ reason }) => dropped.push(reason));
    replier.on('deadLettered', (record) => dead.push(record));
    replier.handle(Ask, (query) => ({ n: query.n }), { distributed: true });
    await replier.start();
    const pending = caller.distributedBus
      .request(replier.name, Ask, { n: 1 }, { timeoutMs: 200 })
      .catch((error: unknown) => error);
    expect(((await pending) as SwitchyardError).code).toBe(ErrorCode.Timeout);
    await until(() => dropped.length === 1);
    await replier.whenIdle();
    expect(dropped).toEqual(['undeliverable']);
    expect(dead).toEqual([]);
    expect(broker.stats(replier.name)?.ready).toBe(0);
  });

  it('refuses a non-positive timeoutMs and replyChannelExpiryMs', async () => {
    const caller = service('rr-bad-timeout', new MemoryTransport());
    const error = await caller.distributedBus
      .request('x', Ask, { n: 1 }, { timeoutMs: 0 })
      .catch((failure: unknown) => failure);
    expect((error as SwitchyardError).code).toBe(ErrorCode.Configuration);
    expect(() => createService({ name: 'rr-bad-expiry', transport: 'memory://', replyChannelExpiryMs: 0 })).toThrow(
      /replyChannelExpiryMs must be a positive integer/,
    );
  });
});
