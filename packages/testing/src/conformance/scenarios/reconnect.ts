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
      const sendAll = async (batch: readonly TransportMessage[]) => {
        for (let start = 0; start < batch.length; start += BATCH) {
          const slice = batch.slice(start, start + BATCH);
          // A send that overlaps a drop may reject: it must not be half-lost, so it is counted and resent.
          await publisher.send(channel, slice).catch(() => failed.push(...slice));
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
      await Promise.all([drop(), sendAll(main.slice(half))]);
      await resendFailed();
      await waitFor(() => received() >= (main.length * 3) / 4, 'three quarters before the second drop', t.waitMs * 3);
      await drop();
      await sendAll(tail);
      await resendFailed();
      await inbox.waitForIds(
        messages.map((m) => m.id),
        t.waitMs * 3,
      );
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
