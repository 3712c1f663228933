import { describe, expect, it } from 'vitest';
import { delivery, fixedClock, receiverParts, registration } from '../../test/stage-fixtures.js';
import { OutgoingMessages } from '../bus/outgoing.js';
import { Receiver } from './receiver.js';

function request() {
  return new OutgoingMessages('caller', fixedClock()).buildValidated({
    kind: 'query',
    name: 'test.ping',
    payload: { n: 1 },
    targetService: 'svc',
    options: { replyTo: 'caller-replies' },
  }).message;
}

describe('receiver: a request whose reply is still being sent', () => {
  it('frees its slot at once and acks only after the reply was sent', async () => {
    let sent!: () => void;
    const replySent = new Promise<void>((resolve) => {
      sent = resolve;
    });
    const { registry } = registration(() => ({ pong: true }));
    const receiver = new Receiver(
      receiverParts(registry, { replier: { reply: () => replySent, fail: () => replySent } }),
    );
    const one = delivery(request());
    await receiver.handle(one);
    expect(one.settled).toEqual([]);
    expect(receiver.inFlight).toBe(1);
    const idle = receiver.whenIdle();
    sent();
    await idle;
    expect(one.settled).toEqual(['ack']);
    expect(receiver.inFlight).toBe(0);
  });
});
