import { defineCommand, defineEvent, ErrorCode, encode } from '@switchyard/core';
import type { TransportMessage } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { z } from 'zod';
import type { Scenario } from '../harness.js';
import { GROUP_RETRY, serviceGroup, within } from './service-group.js';

/**
 * Distributed-bus scenarios: core's `createService` on the transport under
 * test, each service on its own transport instance as separate processes
 * would be. Message names carry a unique prefix so that scenarios sharing one
 * broker (one exchange, one events topic) never see each other's events.
 */

const Item = z.object({ n: z.number().int() });

const commandToNamedService: Scenario = {
  name: 'bus-command-to-named-service',
  title: 'bus: a command reaches only the named service, with correlation and causation',
  async run(t) {
    const b = await serviceGroup(t);
    const prefix = t.name('cmd');
    const Do = defineCommand(`${prefix}.do`, Item);
    const sender = await b.service(`${prefix}-sender`);
    const target = await b.service(`${prefix}-target`);
    const bystander = await b.service(`${prefix}-bystander`);
    const got: number[] = [];
    target.handle(Do, (command) => void got.push(command.n), { distributed: true });
    bystander.handle(Do, () => expect.fail('a bystander ran a command addressed to another service'), {
      distributed: true,
    });
    await within(b, async () => {
      await b.start();
      for (let n = 0; n < 5; n++)
        await sender.distributedBus.sendCommand(`${prefix}-target`, Do, { n }, { correlationId: `corr-${n}` });
      await b.spy.until(() => got.length === 5, '5 commands handled by the target', t.waitMs);
      expect(got.sort()).toEqual([0, 1, 2, 3, 4]);
      const headers = b.spy.handled.map((entry) => entry.envelope?.headers);
      expect(headers.every((h) => h?.source === `${prefix}-sender` && h.correlationId.startsWith('corr-'))).toBe(true);
      expect(b.spy.handled.every((entry) => entry.service === `${prefix}-target`)).toBe(true);
    });
  },
};

const eventFanOut: Scenario = {
  name: 'bus-event-fan-out',
  title: 'bus: an event reaches each subscribed service once, by exact name and by pattern',
  async run(t) {
    const b = await serviceGroup(t);
    const prefix = t.name('evt');
    const Created = defineEvent(`${prefix}.created`, Item);
    const publisher = await b.service(`${prefix}-pub`);
    const exact = await b.service(`${prefix}-exact`);
    const star = await b.service(`${prefix}-star`);
    const hash = await b.service(`${prefix}-hash`);
    const other = await b.service(`${prefix}-other`);
    exact.handle(Created, () => undefined, { distributed: true });
    star.handle(`${prefix}.*`, async function star() {}, { distributed: true });
    star.handle(`${prefix}.created`, async function starExact() {}, { distributed: true });
    hash.handle(`${prefix}.#`, async function hash() {}, { distributed: true });
    other.handle(`${prefix}.deleted`, async function other() {}, { distributed: true });
    await within(b, async () => {
      await b.start();
      await publisher.distributedBus.publishEvent(Created, { n: 1 });
      await b.spy.until(() => b.spy.handled.length >= 4, 'the event at exact, star (twice) and hash', t.waitMs);
      await b.spy.until(() => false, 'no further deliveries', 300).catch(() => undefined);
      const seen = b.spy.handled
        .map((entry) => `${entry.service.slice(prefix.length + 1)}/${entry.handler?.split('@')[0]}`)
        .sort();
      expect(seen).toEqual(['exact/handler', 'hash/hash', 'star/star', 'star/starExact']);
    });
  },
};

const delayedRetry: Scenario = {
  name: 'bus-delayed-retry',
  title: 'bus: a handler that fails twice succeeds on a delayed retry, only that handler re-runs',
  async run(t) {
    const b = await serviceGroup(t);
    const prefix = t.name('retry');
    const Happened = defineEvent(`${prefix}.happened`, Item);
    const service = await b.service(`${prefix}-svc`, {
      retry: { ...GROUP_RETRY, delayedRetries: 3, initialDelayMs: 100, multiplier: 2 },
    });
    const calls: number[] = [];
    let steady = 0;
    service.handle(
      Happened,
      async function flaky() {
        calls.push(Date.now());
        if (calls.length <= 2) throw new Error(`flaky failure ${calls.length}`);
      },
      { distributed: true },
    );
    service.handle(
      Happened,
      async function steadyHandler() {
        steady++;
      },
      { distributed: true, name: 'steady' },
    );
    await within(b, async () => {
      await b.start();
      await service.distributedBus.publishEvent(Happened, { n: 1 });
      await b.spy.until(
        () => b.spy.handled.some((e) => e.handler === `flaky@${Happened.name}`),
        'the flaky handler to succeed',
        t.waitMs,
      );
      expect(calls).toHaveLength(3);
      expect(steady).toBe(1);
      expect((calls[1] ?? 0) - (calls[0] ?? 0)).toBeGreaterThanOrEqual(90);
      expect((calls[2] ?? 0) - (calls[1] ?? 0)).toBeGreaterThanOrEqual(190);
      expect(b.spy.handled.find((e) => e.handler === `flaky@${Happened.name}`)?.envelope?.headers.attempt).toBe(3);
    });
  },
};

const deadLetterAfterLastAttempt: Scenario = {
  name: 'bus-dead-letter',
  title: 'bus: after the last attempt the message is dead-lettered with its reason, and replays once fixed',
  async run(t) {
    const b = await serviceGroup(t);
    const prefix = t.name('dlq');
    const Do = defineCommand(`${prefix}.do`, Item);
    const service = await b.service(`${prefix}-svc`, {
      retry: { ...GROUP_RETRY, delayedRetries: 1, initialDelayMs: 50 },
    });
    let fixed = false;
    const done: number[] = [];
    service.handle(
      Do,
      (command) => {
        if (command.n === 13 && !fixed) throw new Error('unlucky number');
        done.push(command.n);
      },
      { distributed: true },
    );
    await within(b, async () => {
      await b.start();
      await service.distributedBus.sendCommand(service.name, Do, { n: 13 });
      await service.distributedBus.sendCommand(service.name, Do, { n: 14 });
      await b.spy.until(
        () => b.spy.deadLettered.length === 1 && done.includes(14),
        'a dead letter, and the next command handled',
        t.waitMs,
      );
      const [record] = await b.deadLetters.list();
      expect(record).toMatchObject({ service: service.name, handler: Do.name, attempts: 2, messageName: Do.name });
      expect(record?.reason.message).toContain('unlucky number');
      fixed = true;
      await service.replayDeadLetter(record?.id ?? '');
      await b.spy.until(() => done.includes(13), 'the replayed command handled', t.waitMs);
      expect(await b.deadLetters.list()).toHaveLength(0);
    });
  },
};

const badInput: Scenario = {
  name: 'bus-bad-input',
  title: 'bus: malformed, unknown, schema-invalid and misaddressed input is dead-lettered; the consumer keeps running',
  async run(t) {
    const b = await serviceGroup(t);
    const prefix = t.name('bad');
    const Do = defineCommand(`${prefix}.do`, Item);
    const name = `${prefix}-svc`;
    const service = await b.service(name);
    const done: number[] = [];
    service.handle(Do, (command) => void done.push(command.n), { distributed: true });
    const raw = await t.transport();
    const make = (body: string, type = Do.name, target = name): TransportMessage => {
      const id = `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`;
      const valid = encode({
        headers: {
          id,
          name: type,
          kind: 'command',
          source: 'raw',
          targetService: target,
          correlationId: id,
          time: new Date().toISOString(),
          contentType: 'application/json',
          attempt: 1,
          metadata: {},
        },
        payload: null,
      });
      return { ...valid, body: new TextEncoder().encode(body) };
    };
    const bad: Array<[TransportMessage, string]> = [
      [make('{"n": 1'), ErrorCode.Decode],
      [make('{"n":1,"__proto__":{"x":1}}'), ErrorCode.Decode],
      [make('{"n":"one"}'), ErrorCode.Validation],
      [make('{"n":1}', `${prefix}.unknown`), ErrorCode.NoHandler],
      [make('{"n":1}', Do.name, `${prefix}-elsewhere`), ErrorCode.Misaddressed],
    ];
    await within(b, async () => {
      await b.start();
      await raw.send(
        name,
        bad.map(([message]) => message),
      );
      await service.distributedBus.sendCommand(name, Do, { n: 7 });
      await b.spy.until(
        () => b.spy.deadLettered.length === bad.length && done.includes(7),
        'every bad message dead-lettered',
        t.waitMs,
      );
      const records = await b.deadLetters.list();
      for (const [message, code] of bad)
        expect(records.find((r) => r.messageId === message.id)?.reason.code).toBe(code);
    });
  },
};

const sentWhileDown: Scenario = {
  name: 'bus-sent-while-down',
  title: 'bus: commands sent before the target service starts are handled once it starts',
  async run(t) {
    const b = await serviceGroup(t);
    const prefix = t.name('down');
    const Do = defineCommand(`${prefix}.do`, Item);
    const sender = await b.service(`${prefix}-sender`);
    await sender.start();
    for (let n = 0; n < 10; n++) await sender.distributedBus.sendCommand(`${prefix}-late`, Do, { n });
    const late = await b.service(`${prefix}-late`);
    const got = new Set<number>();
    late.handle(Do, (command) => void got.add(command.n), { distributed: true });
    await within(b, async () => {
      await late.start();
      await b.spy.until(() => got.size === 10, 'all 10 commands handled after start', t.waitMs);
    });
  },
};

/** Each is a {@link Scenario}; `runTransportConformance` runs this list after the transport-level groups. */
export const distributedBusScenarios: Scenario[] = [
  commandToNamedService,
  eventFanOut,
  delayedRetry,
  deadLetterAfterLastAttempt,
  badInput,
  sentWhileDown,
];
