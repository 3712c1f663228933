import { waitFor } from '@switchyard/testing';
import { describe, expect, it } from 'vitest';
import { unique } from './cluster.js';
import { kafkaFixture, message, text } from './helpers.js';

const kafka = await kafkaFixture();

describe.runIf(kafka.reachable)('kafka smoke', () => {
  it('sends and consumes', async () => {
    const t = kafka.transport();
    const channel = unique('smoke');
    await t.provision({ channels: [{ name: channel, subscriptions: ['a.*'] }] });
    await t.send(channel, [message('m1', 'one', { key: 'k' })]);
    const got: string[] = [];
    const t0 = Date.now();
    const sub = await t.consume(channel, async (d) => {
      got.push(text(d.message.body));
      await d.ack();
    });
    console.log('consume attached in', Date.now() - t0);
    await t.publish([
      { ...message('e1', 'event'), routingKey: 'a.b' },
      { ...message('e2', 'skip'), routingKey: 'b.c' },
    ]);
    await waitFor(() => got.length >= 2, 'messages', 15_000);
    console.log('got in', Date.now() - t0, got);
    expect(got.sort()).toEqual(['event', 'one']);
    await sub.close();
  });
});
