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

  it('once stopping, holds its slot until the ack; whenDeferredAcksDone waits for the acks deferred before', async () => {
    const gates: Array<() => void> = [];
    const replySent = () =>
      new Promise<void>((resolve) => {
        gates.push(resolve);
      });
    const stopping = new AbortController();
    const { registry } = registration(() => ({ pong: true }));
    const receiver = new Receiver(
      receiverParts(registry, { stopping: stopping.signal, replier: { reply: replySent, fail: replySent } }),
    );
    const before = delivery(request());
    await receiver.handle(before);
    expect(before.settled).toEqual([]);
    stopping.abort();
    let deferredDone = false;
    const deferred = receiver.whenDeferredAcksDone().then(() => {
      deferredDone = true;
    });
    const during = delivery(request());
    let slotFree = false;
    const handled = receiver.handle(during).then(() => {
      slotFree = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect([slotFree, deferredDone]).toEqual([false, false]);
    (gates[1] as () => void)();
    await handled;
    expect(during.settled).toEqual(['ack']);
    expect(deferredDone).toBe(false);
    (gates[0] as () => void)();
    await deferred;
    expect(before.settled).toEqual(['ack']);
  });
});
