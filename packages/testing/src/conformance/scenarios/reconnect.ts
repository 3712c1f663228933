import type { TransportMessage } from '@switchyard/core/transport';
import { expect } from 'vitest';
import { waitFor } from '../../broker-gate.js';
import type { Scenario } from '../harness.js';
import { testMessages } from '../messages.js';
import { pause } from './assertions.js';

const BATCH = 50;

/** Watermill's reconnect test and (where the broker keeps a log) replay. */
export const reconnectScenarios: Scenario[] = [
  {
    name: 'reconnect',
    title: 'reconnect: connections dropped twice mid-flow, every message arrives and the consumer resumes by itself',
    timeoutMs: 120_000,
    skipWhen: (capabilities, options) => {
      if (options.dropConnections === undefined) return 'no dropConnections given to the suite';
      if (!capabilities.reconnect) return 'transport does not reconnect by itself';
      return undefined;
    },
    async run(t) {
      const drop = t.options.dropConnections!;
      const publisher = await t.transport();
      const subscriber = await t.transport();
      const channel = await t.channel(publisher, 'reconnect');
      const messages = testMessages(t.count(2_000));
      // Held back until after the second drop: their arrival proves the consumer resumed by itself.
      const tailSize = Math.max(1, Math.min(BATCH, Math.floor(messages.length / 4)));
      const tail = messages.slice(messages.length - tailSize);
      const main = messages.slice(0, messages.length - tailSize);
      const failed: TransportMessage[] = [];
      // Which send carried each message, for the failure message: losses in the batches of one send point
      // at the send path, losses spread over the whole run at the consumer.
      const sentBy = new Map<string, string>();
      let phase = 'before the first drop';
      let sends = 0;
      const sendAll = async (batch: readonly TransportMessage[]) => {
        for (let start = 0; start < batch.length; start += BATCH) {
          const slice = batch.slice(start, start + BATCH);
          const send = `send #${++sends} (${phase})`;
          // A send that overlaps a drop may reject: it must not be half-lost, so it is counted and resent.
          const outcome = await publisher.send(channel, slice).then(
            () => 'resolved',
            () => {
              failed.push(...slice);
              return 'rejected';
            },
          );
          for (const m of slice) sentBy.set(m.id, `${send} ${outcome}`);
        }
      };
      const resendFailed = async () => {
        for (let attempt = 0; failed.length > 0; attempt++) {
          expect(attempt, `resending ${failed.length} rejected messages`).toBeLessThan(100);
          if (attempt > 0) await pause(200); // back off while the connection comes back
          await sendAll(failed.splice(0));
        }
      };
      const half = Math.floor(main.length / 2);
      await sendAll(main.slice(0, half));
      const inbox = await t.collect(subscriber, channel, { concurrency: 10 });
      const received = () => inbox.idSet().size;
      await waitFor(() => received() >= main.length / 4, 'a quarter of the messages before the first drop', t.waitMs);
      phase = 'during the first drop';
      await Promise.all([drop(), sendAll(main.slice(half))]);
      phase = 'resent';
      await resendFailed();
      await waitFor(() => received() >= (main.length * 3) / 4, 'three quarters before the second drop', t.waitMs * 3);
      await drop();
      phase = 'after the second drop';
      await sendAll(tail);
      phase = 'resent';
      await resendFailed();
      await inbox
        .waitForIds(
          messages.map((m) => m.id),
          t.waitMs * 3,
        )
        .catch((error: unknown) => {
          const seen = inbox.idSet();
          const bySend = new Map<string, number>();
          for (const m of messages) {
            if (seen.has(m.id)) continue;
            const send = sentBy.get(m.id) ?? 'never sent';
            bySend.set(send, (bySend.get(send) ?? 0) + 1);
          }
          const detail = [...bySend].map(([send, count]) => `${count} of ${send}`).join('; ');
          throw new Error(
            `${error instanceof Error ? error.message : String(error)}; missing by last send: ${detail}`,
            {
              cause: error,
            },
          );
        });
    },
  },
  {
    name: 'replay',
    title: 'replay from an earlier position',
    skipWhen: (capabilities) =>
      capabilities.replay
        ? 'the transport SPI has no replay operation yet, so there is nothing to check'
        : 'transport keeps no replayable log',
    async run() {},
  },
];
