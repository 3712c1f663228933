import { defineQuery, ErrorCode, RemoteError, type Service, SwitchyardError } from '@switchyard/core';
import type { Delivery } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { z } from 'zod';
import { waitFor } from '../../broker-gate.js';
import type { Scenario } from '../harness.js';
import { testMessage } from '../messages.js';
import { latch } from './assertions.js';
import { expectExpired, noReplies, openInto, outcome, requestReplyFixture } from './request-reply-fixture.js';

/**
 * Request/reply scenarios: `distributedBus.request` between services, each on
 * its own transport as separate processes would be, and the reply-channel
 * SPI (`Transport.replies`) itself. They run on every transport that offers
 * reply channels; bounds are generous, and waiting is on spies and flags.
 */

const Sum = z.object({ a: z.number(), b: z.number() });
const Total = z.object({ total: z.number() });
const Echo = z.object({ n: z.number().int(), caller: z.string().optional() });

const reply: Scenario = {
  name: 'request-reply',
  title:
    'request/reply: the handler’s return value comes back, checked by the result schema; ctx.request carries correlation and causation',
  skipFor: noReplies,
  async run(t) {
    const { s, prefix, caller, replier: adder, run } = await requestReplyFixture(t, 'rr');
    const Add = defineQuery(`${prefix}.add`, Sum, Total);
    const Double = defineQuery(`${prefix}.double`, z.object({ n: z.number() }), z.number());
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
    await run(async () => {
      const result = await caller.distributedBus.request(
        adder.name,
        Add,
        { a: 20, b: 2 },
        { timeoutMs: t.waitMs, correlationId: `corr-${prefix}` },
      );
      expect(result).toEqual({ total: 42 });
      expect(seen).toEqual([{ correlationId: `corr-${prefix}`, causationId: addRequestId }]);
      // A reply that breaks the result schema rejects at the caller.
      const invalid = await outcome(
        caller.distributedBus.request(doubler.name, Double, { n: 99 }, { timeoutMs: t.waitMs }),
      );
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
    const { s, prefix, caller, replier, run } = await requestReplyFixture(t, 'rre', {
      replier: { retry: { instantRetries: 2, delayedRetries: 3, initialDelayMs: 50, jitter: 0 } },
    });
    const Fail = defineQuery(`${prefix}.fail`, Echo);
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
    await run(async () => {
      const error = await outcome(caller.distributedBus.request(replier.name, Fail, { n: 1 }, { timeoutMs: t.waitMs }));
      expect(error).toBeInstanceOf(RemoteError);
      const remote = error as RemoteError;
      expect(remote.code).toBe(ErrorCode.Remote);
      expect(remote.service).toBe(replier.name);
      expect(remote.remoteCode).toBe(ErrorCode.HandlerFailed);
      expect(remote.remoteMessage).toBe('no such order');
      expect(remote.remoteName).toBe('TypeError');
      expect(remote.remoteStack).toBeUndefined();
      expect(calls).toBe(3);
      const stacked = (await outcome(
        caller.distributedBus.request(verbose.name, Fail, { n: 2 }, { timeoutMs: t.waitMs }),
      )) as RemoteError;
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
    const { s, prefix, caller, replier, run } = await requestReplyFixture(t, 'rrt', { replier: { concurrency: 4 } });
    const Slow = defineQuery(`${prefix}.slow`, Echo, Echo);
    const gates = new Map([
      [1, latch()],
      [2, latch()],
    ]);
    const started = new Set<number>();
    replier.handle(
      Slow,
      async (query) => {
        started.add(query.n);
        await gates.get(query.n)?.promise;
        return { n: query.n * 10 };
      },
      { distributed: true },
    );
    t.defer(() => {
      for (const held of gates.values()) held.open();
    });
    await run(async () => {
      // One answered request first: the reply channel is open, so the short timeout below only covers the answer
      // (a request that times out before it could be sent is never sent).
      expect(await caller.distributedBus.request(replier.name, Slow, { n: 0 }, { timeoutMs: t.waitMs })).toEqual({
        n: 0,
      });
      const first = await outcome(caller.distributedBus.request(replier.name, Slow, { n: 1 }, { timeoutMs: 300 }));
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
    const {
      s,
      prefix,
      caller: one,
      replier,
      run,
    } = await requestReplyFixture(t, 'rrc', { replier: { concurrency: 32 } });
    const Ask = defineQuery(`${prefix}.ask`, Echo, Echo);
    // Two instances of one caller service: same name, separate transports and reply channels.
    const two = await s.service(one.name);
    replier.handle(Ask, (query, ctx) => ({ n: query.n, caller: ctx.headers.metadata.instance ?? '?' }), {
      distributed: true,
    });
    const perCaller = t.count(500);
    await run(async () => {
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
    const callerTransport = await t.transport();
    const { s, prefix, caller, replier, run } = await requestReplyFixture(t, 'rrx', {
      caller: { replyChannelExpiryMs: 1_000 },
      callerTransport,
    });
    const Ask = defineQuery(`${prefix}.ask`, Echo);
    const held = latch();
    t.defer(held.open);
    let calls = 0;
    let address = '';
    replier.handle(
      Ask,
      async (query, ctx) => {
        calls++;
        address = ctx.headers.replyTo ?? '';
        await held.promise;
        return { n: query.n };
      },
      { distributed: true },
    );
    await run(async () => {
      const pending = outcome(caller.distributedBus.request(replier.name, Ask, { n: 7 }, { timeoutMs: t.waitMs * 3 }));
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
