import { defineQuery, ErrorCode, RemoteError, type Service, SwitchyardError } from '@switchyard/core';
import type { Delivery, Transport } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../../broker-gate.js';
import type { Scenario, ScenarioContext } from '../harness.js';
import { testMessage } from '../messages.js';
import { serviceGroup, within } from './service-group.js';

/**
 * Request/reply scenarios: `distributedBus.request` between services, each on
 * its own transport as separate processes would be, and the reply-channel
 * SPI (`Transport.replies`) itself. They run on every transport that offers
 * reply channels; bounds are generous, and waiting is on spies and flags.
 */

const noReplies = (transport: Transport): string | undefined =>
  transport.replies === undefined
    ? `transport '${transport.name}' has no reply channels (Transport.replies), so it cannot carry request/reply`
    : undefined;

const Sum = z.object({ a: z.number(), b: z.number() });
const Total = z.object({ total: z.number() });
const Echo = z.object({ n: z.number().int(), caller: z.string().optional() });

/** A released-on-demand barrier for handlers that must wait for the test. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

const reply: Scenario = {
  name: 'request-reply',
  title:
    'request/reply: the handler’s return value comes back, checked by the result schema; ctx.request carries correlation and causation',
  skipFor: noReplies,
  async run(t) {
    const s = await serviceGroup(t);
    const prefix = t.name('rr');
    const Add = defineQuery(`${prefix}.add`, Sum, Total);
    const Double = defineQuery(`${prefix}.double`, z.object({ n: z.number() }), z.number());
    const caller = await s.service(`${prefix}-caller`);
    const adder = await s.service(`${prefix}-adder`);
    const doubler = await s.service(`${prefix}-doubler`);
    const seen: Array<{ correlationId: string; causationId?: string }> = [];
    let addRequestId = '';
    adder.handle(
      Add,
      async (query, ctx) => {
        addRequestId = ctx.headers.id;
        const doubled = await ctx.request(doubler.name, Double, { n: query.a }, { timeoutMs: t.waitMs });
        return { total: doubled + query.b };
      },
      { distributed: true },
    );
    doubler.handle(
      Double,
      (query, ctx) => {
        seen.push({
          correlationId: ctx.headers.correlationId,
          ...(ctx.headers.causationId ? { causationId: ctx.headers.causationId } : {}),
        });
        return query.n === 99 ? 'not a number' : query.n * 2;
      },
      { distributed: true },
    );
    await within(s, async () => {
      await s.start();
      const result = await caller.distributedBus.request(
        adder.name,
        Add,
        { a: 20, b: 2 },
        { timeoutMs: t.waitMs, correlationId: `corr-${prefix}` },
      );
      expect(result).toEqual({ total: 42 });
      expect(seen).toEqual([{ correlationId: `corr-${prefix}`, causationId: addRequestId }]);
      // A reply that breaks the result schema rejects at the caller.
      const invalid = await caller.distributedBus
        .request(doubler.name, Double, { n: 99 }, { timeoutMs: t.waitMs })
        .catch((error: unknown) => error);
      expect(invalid).toBeInstanceOf(SwitchyardError);
      expect((invalid as SwitchyardError).code).toBe(ErrorCode.Validation);
      await s.expectNoDeadLetters();
    });
  },
};

const remoteError: Scenario = {
  name: 'request-remote-error',
  title:
    'request/reply: a failing handler answers with a RemoteError (code, message, no stack); instant retries only, no dead letter',
  skipFor: noReplies,
  async run(t) {
    const s = await serviceGroup(t);
    const prefix = t.name('rre');
    const Fail = defineQuery(`${prefix}.fail`, Echo);
    const caller = await s.service(`${prefix}-caller`);
    const replier = await s.service(`${prefix}-replier`, {
      retry: { instantRetries: 2, delayedRetries: 3, initialDelayMs: 50, jitter: 0 },
    });
    const verbose = await s.service(`${prefix}-verbose`, { replyErrorStack: true });
    let calls = 0;
    replier.handle(
      Fail,
      () => {
        calls++;
        throw new TypeError('no such order');
      },
      { distributed: true },
    );
    verbose.handle(
      Fail,
      () => {
        throw new Error('with stack');
      },
      { distributed: true },
    );
    await within(s, async () => {
      await s.start();
      const error = await caller.distributedBus
        .request(replier.name, Fail, { n: 1 }, { timeoutMs: t.waitMs })
        .catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(RemoteError);
      const remote = error as RemoteError;
      expect(remote.code).toBe(ErrorCode.Remote);
      expect(remote.service).toBe(replier.name);
      expect(remote.remoteCode).toBe(ErrorCode.HandlerFailed);
      expect(remote.remoteMessage).toBe('no such order');
      expect(remote.remoteName).toBe('TypeError');
      expect(remote.remoteStack).toBeUndefined();
      expect(calls).toBe(3);
      const stacked = (await caller.distributedBus
        .request(verbose.name, Fail, { n: 2 }, { timeoutMs: t.waitMs })
        .catch((failure: unknown) => failure)) as RemoteError;
      expect(stacked.remoteStack).toContain('with stack');
      await replier.whenIdle();
      expect(s.spy.retried).toHaveLength(0);
      await s.expectNoDeadLetters();
    });
  },
};

const timeoutAndLate: Scenario = {
  name: 'request-timeout-late-reply',
  title:
    'request/reply: no reply in time rejects SY_TIMEOUT; the late reply is dropped and counted, never given to a later request',
  skipFor: noReplies,
  async run(t) {
    const s = await serviceGroup(t);
    const prefix = t.name('rrt');
    const Slow = defineQuery(`${prefix}.slow`, Echo, Echo);
    const caller = await s.service(`${prefix}-caller`);
    const replier = await s.service(`${prefix}-replier`, { concurrency: 4 });
    const gates = new Map([
      [1, gate()],
      [2, gate()],
    ]);
    const started = new Set<number>();
    replier.handle(
      Slow,
      async (query) => {
        started.add(query.n);
        await gates.get(query.n)?.wait;
        return { n: query.n * 10 };
      },
      { distributed: true },
    );
    t.defer(() => {
      for (const held of gates.values()) held.open();
    });
    await within(s, async () => {
      await s.start();
      // One answered request first: the reply channel is open, so the short timeout below only covers the answer
      // (a request that times out before it could be sent is never sent).
      expect(await caller.distributedBus.request(replier.name, Slow, { n: 0 }, { timeoutMs: t.waitMs })).toEqual({
        n: 0,
      });
      const first = await caller.distributedBus
        .request(replier.name, Slow, { n: 1 }, { timeoutMs: 300 })
        .catch((error: unknown) => error);
      expect((first as SwitchyardError).code).toBe(ErrorCode.Timeout);
      const firstId = s.spy.sent.filter((entry) => entry.service === caller.name && entry.name === Slow.name)[1]?.id;
      await waitFor(() => started.has(1), 'the first request in the replier', t.waitMs);
      // The second request waits (its handler is held) while the first one's reply comes back late.
      // Brokers that hand a partition's messages over one at a time run it after the first: fine too.
      const second = caller.distributedBus.request(replier.name, Slow, { n: 2 }, { timeoutMs: t.waitMs * 3 });
      second.catch(() => undefined);
      gates.get(1)?.open();
      await s.spy.until(
        () => s.spy.droppedReplies.some((drop) => drop.service === caller.name && drop.reason === 'late'),
        'the late reply to be dropped by the caller',
        t.waitMs,
      );
      expect(s.spy.droppedReplies).toEqual([{ service: caller.name, reason: 'late', requestId: firstId }]);
      await waitFor(() => started.has(2), 'the second request in the replier', t.waitMs);
      gates.get(2)?.open();
      expect(await second).toEqual({ n: 20 });
      await s.expectNoDeadLetters();
    });
  },
};

const concurrent: Scenario = {
  name: 'request-concurrent',
  title: 'request/reply: 1,000 concurrent requests from two caller instances each get their own answer',
  skipFor: noReplies,
  timeoutMs: 180_000,
  async run(t) {
    const s = await serviceGroup(t);
    const prefix = t.name('rrc');
    const Ask = defineQuery(`${prefix}.ask`, Echo, Echo);
    const callerName = `${prefix}-caller`;
    // Two instances of one caller service: same name, separate transports and reply channels.
    const one = await s.service(callerName);
    const two = await s.service(callerName);
    const replier = await s.service(`${prefix}-replier`, { concurrency: 32 });
    replier.handle(Ask, (query, ctx) => ({ n: query.n, caller: ctx.headers.metadata.instance ?? '?' }), {
      distributed: true,
    });
    const perCaller = t.count(500);
    await within(s, async () => {
      await s.start();
      const ask = (service: Service, instance: string, n: number) =>
        service.distributedBus.request(replier.name, Ask, { n }, { timeoutMs: t.waitMs * 6, metadata: { instance } });
      const answers = await Promise.all([
        ...Array.from({ length: perCaller }, (_, n) => ask(one, 'one', n)),
        ...Array.from({ length: perCaller }, (_, n) => ask(two, 'two', n)),
      ]);
      const expected = [
        ...Array.from({ length: perCaller }, (_, n) => ({ n, caller: 'one' })),
        ...Array.from({ length: perCaller }, (_, n) => ({ n, caller: 'two' })),
      ];
      expect(answers).toEqual(expected);
      expect(s.spy.droppedReplies).toEqual([]);
    });
  },
};

const callerCrash: Scenario = {
  name: 'request-caller-crash',
  title:
    'request/reply: when the caller crashes, the replier answers once and moves on; nothing is retried or dead-lettered',
  skipFor: noReplies,
  async run(t) {
    const s = await serviceGroup(t);
    const prefix = t.name('rrx');
    const Ask = defineQuery(`${prefix}.ask`, Echo);
    const callerTransport = await t.transport();
    const caller = await s.service(`${prefix}-caller`, { replyChannelExpiryMs: 1_000 }, callerTransport);
    const replier = await s.service(`${prefix}-replier`);
    const held = gate();
    t.defer(held.open);
    let calls = 0;
    let address = '';
    replier.handle(
      Ask,
      async (query, ctx) => {
        calls++;
        address = ctx.headers.replyTo ?? '';
        await held.wait;
        return { n: query.n };
      },
      { distributed: true },
    );
    await within(s, async () => {
      await s.start();
      const pending = caller.distributedBus
        .request(replier.name, Ask, { n: 7 }, { timeoutMs: t.waitMs * 3 })
        .catch((error: unknown) => error);
      await waitFor(() => calls === 1, 'the request in the replier', t.waitMs);
      // The crash: the caller's connection goes away without stop(); its reply channel is left to expire.
      await callerTransport.close();
      held.open();
      await s.spy.until(
        () => s.spy.handledOf(Ask.name, replier.name).length === 1,
        'the replier to finish the request',
        t.waitMs,
      );
      await replier.whenIdle();
      expect(calls).toBe(1);
      expect(s.spy.retried).toHaveLength(0);
      await s.expectNoDeadLetters();
      await expectExpired(t, address, 1_000);
      await caller.stop();
      expect((await pending) as SwitchyardError).toMatchObject({ code: ErrorCode.Closed });
    });
  },
};

/**
 * With `options.replyChannelExists`: once `expireAfterMs` has passed and the
 * next instance opened a reply channel (which sweeps expired ones where the
 * broker does not expire them itself), the channel at `address` is gone,
 * with the reply it held.
 */
async function expectExpired(t: ScenarioContext, address: string, expireAfterMs: number): Promise<void> {
  const exists = t.options.replyChannelExists;
  if (exists === undefined) return;
  // Time has to pass here, not a message: the channel's last sign of life must be older than its expiry.
  await new Promise((resolve) => setTimeout(resolve, expireAfterMs * 1.5));
  const next = await t.transport();
  const sweeper = await openInto(next, t.name('next'), [], 30_000);
  const deadline = Date.now() + t.waitMs;
  while (await exists(address)) {
    if (Date.now() > deadline) throw new Error(`reply channel '${address}' still exists ${t.waitMs} ms after expiry`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await sweeper.close();
}

/** Open a reply channel on `transport` whose deliveries land in `into` (acked). */
function openInto(transport: Transport, owner: string, into: Delivery[], expireAfterMs: number) {
  const replies = transport.replies;
  if (replies === undefined) throw new Error('no reply channels');
  return replies.open(
    owner,
    async (delivery) => {
      into.push(delivery);
      await delivery.ack();
    },
    { expireAfterMs },
  );
}

const channelBasics: Scenario = {
  name: 'reply-channel-basics',
  title:
    'reply channels: a reply sent from another connection arrives intact; closing is idempotent and a reply after close resolves, delivering nothing',
  skipFor: noReplies,
  async run(t) {
    const caller = await t.transport();
    const replier = await t.transport();
    const got: Delivery[] = [];
    const channel = await openInto(caller, t.name('owner'), got, 30_000);
    expect(typeof channel.address).toBe('string');
    const message = testMessage({ headers: { 'ce-kind': 'reply', 'ce-causationid': 'req-1' } });
    await replier.replies?.send(channel.address, message);
    await waitFor(() => got.length === 1, 'the reply on the reply channel', t.waitMs);
    const arrived = got[0]?.message;
    expect(arrived?.id).toBe(message.id);
    expect(arrived?.headers['ce-causationid']).toBe('req-1');
    expect(Buffer.from(arrived?.body ?? []).equals(Buffer.from(message.body))).toBe(true);
    await channel.close();
    await channel.close();
    await replier.replies?.send(channel.address, testMessage());
    await waitFor(() => false, 'no reply after close', 300).catch(() => undefined);
    expect(got).toHaveLength(1);
    if (t.options.replyChannelExists) expect(await t.options.replyChannelExists(channel.address)).toBe(false);
  },
};

export const requestReplyScenarios: Scenario[] = [
  reply,
  remoteError,
  timeoutAndLate,
  concurrent,
  callerCrash,
  channelBasics,
];
