import { matchesPattern, type RoutedMessage } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { waitFor } from '../../broker-gate.js';
import type { Collector } from '../collect.js';
import type { Scenario, ScenarioContext } from '../harness.js';
import { testEvent } from '../messages.js';
import { uniqueName } from '../names.js';

/**
 * Events this collector should count: all of them when the broker filters by
 * pattern; with client-side filtering, only those core's matcher would keep.
 */
function accepted(t: ScenarioContext, inbox: Collector, patterns: readonly string[]): string[] {
  return inbox.received
    .map((entry) => entry.delivery.message)
    .filter(
      (message) =>
        t.capabilities.patternFiltering === 'server' ||
        patterns.some((pattern) => matchesPattern(pattern, message.headers['ce-type'] ?? '')),
    )
    .map((message) => message.id);
}

/** A routing-key namespace of its own, so events of parallel suites on the same broker never match ours. */
function namespace(): string {
  return uniqueName('ns').replace('-', '');
}

/** Watermill's consumer groups and topic fan-out, with AMQP-style patterns. */
export const fanOutScenarios: Scenario[] = [
  {
    name: 'publish-fan-out',
    title: "publish fan-out: '*', '#', 'x.#' and exact subscriptions each get exactly the matching events",
    async run(t) {
      const ns = namespace();
      const transport = await t.transport();
      const subscriptions: Record<string, readonly string[]> = {
        star: [`${ns}.order.*`],
        everything: ['#'],
        orderTree: [`${ns}.order.#`],
        exact: [`${ns}.order.placed`],
        twoPatterns: [`${ns}.order.placed`, `${ns}.*.placed`],
        none: [`${ns}.shipping.*`],
      };
      const channels: Record<string, string> = {};
      for (const role of Object.keys(subscriptions)) channels[role] = t.name(`fan-${role.toLowerCase()}`);
      await transport.provision({
        channels: Object.entries(subscriptions).map(([role, patterns]) => ({
          name: channels[role]!,
          subscriptions: patterns,
        })),
      });
      const inboxes: Record<string, Collector> = {};
      // Attached in parallel: on brokers where joining a consumer group takes seconds, that is the scenario's cost.
      await Promise.all(
        Object.keys(subscriptions).map(async (role) => {
          inboxes[role] = await t.collect(transport, channels[role]!);
        }),
      );
      const events: RoutedMessage[] = [
        `${ns}.order.placed`,
        `${ns}.order.cancelled`,
        `${ns}.order.item.added`,
        `${ns}.order`,
        `${ns}.payment.placed`,
        `${ns}.payment.received`,
      ].map((key, seq) => testEvent(key, { seq }));
      await transport.publish(events);
      // Published last and matched by 'none' and '#': once every channel saw what it should, strays would have arrived too.
      const barrier = testEvent(`${ns}.shipping.done`);
      await transport.publish([barrier]);
      const ours = new Set([...events, barrier].map((e) => e.id));
      for (const [role, patterns] of Object.entries(subscriptions)) {
        const expected = [...events, barrier].filter((e) => patterns.some((p) => matchesPattern(p, e.routingKey)));
        await inboxes[role]!.waitForIds(
          expected.map((e) => e.id),
          t.waitMs,
        );
      }
      for (const [role, patterns] of Object.entries(subscriptions)) {
        const expected = [...events, barrier]
          .filter((e) => patterns.some((p) => matchesPattern(p, e.routingKey)))
          .map((e) => e.id)
          .sort();
        const got = accepted(t, inboxes[role]!, patterns)
          .filter((id) => ours.has(id))
          .sort();
        expect(got, `events received by the '${role}' channel (${patterns.join(', ')})`).toEqual(expected);
      }
    },
  },
  {
    name: 'provision-idempotent',
    title: 'provision is idempotent, and provisioning fewer patterns removes the stale subscription',
    async run(t) {
      const ns = namespace();
      const transport = await t.transport();
      const channel = t.name('prov');
      const both = { channels: [{ name: channel, subscriptions: [`${ns}.a.*`, `${ns}.b.*`] }] };
      await transport.provision(both);
      await transport.provision(both);
      const inbox = await t.collect(transport, channel);
      const first = [testEvent(`${ns}.a.x`), testEvent(`${ns}.b.x`)];
      await transport.publish(first);
      await inbox.waitForIds(
        first.map((e) => e.id),
        t.waitMs,
      );

      await transport.provision({ channels: [{ name: channel, subscriptions: [`${ns}.a.*`] }] });
      const stale = testEvent(`${ns}.b.y`);
      const kept = testEvent(`${ns}.a.y`);
      await transport.publish([stale]);
      await transport.publish([kept]);
      await inbox.waitForIds([kept.id], t.waitMs);
      const patterns = [`${ns}.a.*`];
      const got = accepted(t, inbox, patterns);
      expect(
        got.filter((id) => id === stale.id),
        'event of the removed subscription',
      ).toEqual([]);
      for (const event of first) expect(inbox.countOf(event.id), 'double provisioning must not duplicate').toBe(1);
    },
  },
  {
    name: 'fan-out-consumer-groups',
    title:
      'consumer groups: two channels on one pattern, two competing consumers each: each channel handles every event once',
    async run(t) {
      const ns = namespace();
      const first = await t.transport();
      const second = await t.transport();
      const groups = [t.name('group-a'), t.name('group-b')];
      await first.provision({ channels: groups.map((name) => ({ name, subscriptions: [`${ns}.#`] })) });
      const consumers = await Promise.all(
        groups.map((group) => Promise.all([t.collect(first, group), t.collect(second, group)])),
      );
      const events = Array.from({ length: t.count(50) }, (_, seq) => testEvent(`${ns}.thing.happened`, { seq }));
      await first.publish(events);
      for (const [n, [a, b]] of consumers.entries()) {
        await waitFor(
          () => new Set([...a.ids, ...b.ids]).size === events.length,
          `every event handled in group ${n}`,
          t.waitMs,
        );
        expect(a.received.length + b.received.length, `deliveries in group ${n}`).toBe(events.length);
      }
    },
  },
  {
    name: 'publish-no-subscriber',
    title: 'publish of an event nobody subscribes to resolves',
    async run(t) {
      const transport = await t.transport();
      await expect(transport.publish([testEvent(`${namespace()}.nobody.listens`)])).resolves.toBeUndefined();
    },
  },
];
