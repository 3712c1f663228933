import type { Transport, TransportMessage } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { waitFor } from '../../broker-gate.js';
import type { Collector } from '../collect.js';
import type { Scenario, ScenarioContext } from '../harness.js';
import { testMessage, testMessages } from '../messages.js';
import { latch, pause, tick } from './assertions.js';

const BATCH = 100;
/** Bound on resending one batch while the broker is away, so a transport that never recovers fails the test. */
const RESEND_FOR_MS = 60_000;

/**
 * The broker outage scenario (issue #12), opt-in through
 * `ConformanceOptions.outage` ({@link import('../options.js').OutageControl}):
 * twice during a stream of 10,000 messages the broker goes away (`cut`) for
 * `downMs` and comes back (`restore`). A sender keeps sending in batches of
 * 100 throughout and resends a batch whose send rejected until it resolves.
 * Checks: every message whose send resolved is handled (lost 0); duplicates
 * are counted, not failed (at-least-once); the consumer resumes by itself: a
 * probe sent after each `restore` on a second channel of the same consumer
 * transport arrives, and the time from `restore` to its arrival is printed as
 * "recovered after … s" with `sent`, `handled`, `duplicates`, `lost`.
 *
 * How each transport wires it (its test file):
 * - memory: `cut` = `dropConnection({ downForMs })` on every transport made, `restore` = `restoreConnection()`.
 * - RabbitMQ, SQS (fauxqs), Kafka (mock cluster): a `TcpProxy` per broker address in front of the broker;
 *   `cut` = `proxy.refuse()`, `restore` = `proxy.restore()`. Emulators keep their queues only in memory,
 *   so they are never restarted; Kafka's mock cluster advertises its brokers' own ports, so the test maps
 *   each one to a proxy (kafkajs `socketFactory`).
 * - Redis: a redis-server of the test's own on its own port, AOF on; `cut` kills it, `restore` starts it
 *   again on the same data directory.
 * - PostgreSQL: a `TcpProxy` in front of the shared server (`cut` = `refuse()`); never restart the shared
 *   cluster. NATS JetStream: a nats-server of the test's own (`-js -sd <tmp>`) killed and restarted, or a
 *   `TcpProxy` in front of the shared one.
 * - SQLite: skipped; there is no broker to lose (the database file is local).
 */
export const outageScenarios: Scenario[] = [
  {
    name: 'broker-outage',
    title:
      'broker outage: the broker goes away twice during 10,000 messages; every confirmed message is handled, the consumer resumes by itself',
    timeoutMs: 240_000,
    skipWhen: (capabilities, options) => {
      if (options.outage === undefined) return 'no outage control (ConformanceOptions.outage) given to the suite';
      if (!capabilities.reconnect) return 'transport does not reconnect by itself';
      return undefined;
    },
    async run(t) {
      const outage = t.options.outage!;
      const downMs = outage.downMs ?? 3_000;
      const total = t.count(outage.messages ?? 10_000);
      const publisher = await t.transport();
      const subscriber = await t.transport();
      const channel = await t.channel(publisher, 'outage');
      const probeChannel = await t.channel(publisher, 'outage-probe');
      const inbox = await t.collect(subscriber, channel, { concurrency: 20 });
      const probes = await t.collect(subscriber, probeChannel);
      const confirmed = new Set<string>();
      let rejected = 0;
      const messages = testMessages(total);
      // The sender halts at each threshold until that outage has begun, so every outage falls mid-stream.
      const thresholds = [Math.floor(total / 3), Math.floor((total * 2) / 3)];
      const outageBegun = thresholds.map(() => latch());
      const sender = (async () => {
        for (let start = 0; start < total; start += BATCH) {
          const batch = messages.slice(start, start + BATCH);
          rejected += await sendUntilAccepted(publisher, channel, batch);
          for (const message of batch) confirmed.add(message.id);
          for (const [k, threshold] of thresholds.entries()) {
            if (confirmed.size >= threshold) await outageBegun[k]!.promise;
          }
          await tick(); // let the outage driver run even where sends resolve synchronously
        }
      })();
      const recoveries: number[] = [];
      const cutAt: number[] = [];
      for (const [k, threshold] of thresholds.entries()) {
        await waitFor(
          () => confirmed.size >= threshold,
          () => `${threshold} confirmed sends before outage ${k + 1} (got ${confirmed.size})`,
          t.waitMs * 3,
        );
        await outage.cut();
        cutAt.push(confirmed.size);
        outageBegun[k]!.open();
        let restored = false;
        t.defer(() => {
          // A failed assertion mid-outage must not leave the broker away for whatever runs next.
          if (!restored) void outage.restore().catch(() => undefined);
        });
        await pause(downMs); // the outage itself: its length is the point, nothing is awaited by it
        await outage.restore();
        restored = true;
        recoveries.push(await recoveryTime(t, publisher, probeChannel, probes));
      }
      await sender;
      await inbox.waitForIds(confirmed, t.waitMs * 3);
      const handled = inbox.idSet();
      const lost = [...confirmed].filter((id) => !handled.has(id)).length;
      const duplicates = inbox.received.length - handled.size;
      console.log(
        `[broker-outage] ${t.options.name}${outage.describe ? ` (${outage.describe})` : ''}: sent ${confirmed.size}, ` +
          `handled ${handled.size}, duplicates ${duplicates}, lost ${lost}, ` +
          `recovered after ${recoveries.map((ms) => (ms / 1000).toFixed(1)).join(' s and ')} s ` +
          `(2 outages of ${(downMs / 1000).toFixed(1)} s, begun after ${cutAt.join(' and ')} confirmed sends; ` +
          `${rejected} send attempts rejected and retried)`,
      );
      expect(confirmed.size).toBe(total);
      expect(lost).toBe(0);
      expect(recoveries).toHaveLength(2);
      for (const at of cutAt) expect(at, 'the outage began mid-stream').toBeLessThan(total);
    },
  },
];

/** Send `batch`, again and again while it rejects (the broker is away); resolves with how many attempts rejected. */
async function sendUntilAccepted(
  transport: Transport,
  channel: string,
  batch: readonly TransportMessage[],
): Promise<number> {
  const deadline = Date.now() + RESEND_FOR_MS;
  for (let rejected = 0; ; rejected++) {
    try {
      await transport.send(channel, batch);
      return rejected;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await pause(100); // back off while the transport reconnects
    }
  }
}

/** Send a probe after `restore` and wait for the consumer to receive it: ms from `restore` to its arrival. */
async function recoveryTime(
  t: ScenarioContext,
  publisher: Transport,
  channel: string,
  probes: Collector,
): Promise<number> {
  const restoredAt = Date.now();
  const probe = testMessage({ seq: probes.received.length });
  await sendUntilAccepted(publisher, channel, [probe]);
  await probes.waitForIds([probe.id], t.waitMs * 3);
  const arrival = probes.deliveriesOf(probe.id)[0]?.receivedAt ?? Date.now();
  return arrival - restoredAt;
}
