import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand, defineEvent, defineQuery } from '../contracts/contract.js';
import type { TransactionalInbox } from '../resilience/stores.js';
import { createService } from '../service/service.js';

/** A transactional inbox over a Set: a "transaction" is an array of writes applied only when work succeeds. */
class FakeTransactionalInbox implements TransactionalInbox<string[]> {
  readonly recorded = new Set<string>();
  readonly committed: string[] = [];
  async runOnce(handler: string, messageId: string, work: (transaction: string[]) => Promise<void>): Promise<boolean> {
    const key = `${handler}/${messageId}`;
    if (this.recorded.has(key)) return false;
    const writes: string[] = [];
    await work(writes);
    this.recorded.add(key);
    this.committed.push(...writes);
    return true;
  }
}

const Charge = defineCommand('tx.charge', z.object({ n: z.number() }));
const Charged = defineEvent('tx.charged', z.object({ n: z.number() }));

describe('handler option transactionalInbox', () => {
  it('gives the handler the transaction, keeps the rest of the context, and runs a message once', async () => {
    const inbox = new FakeTransactionalInbox();
    const service = createService({ name: 'tx-svc', transport: 'memory://', handleSignals: false });
    let failNext = true;
    const published: number[] = [];
    service.handle(
      Charge,
      async (command, context) => {
        (context.transaction as string[]).push(`charge ${command.n}`);
        await context.publishEvent(Charged, { n: command.n });
        if (failNext) {
          failNext = false;
          throw new Error('rolled back');
        }
      },
      { distributed: true, transactionalInbox: inbox, retry: { instantRetries: 1 } },
    );
    service.handle(
      Charged,
      (event, context) => {
        expect(context.transaction).toBeUndefined();
        published.push(event.n);
      },
      { distributed: true },
    );
    await service.start();
    try {
      await service.distributedBus.sendCommand('tx-svc', Charge, { n: 1 });
      await expect.poll(() => inbox.committed).toEqual(['charge 1']);
      expect(inbox.recorded).toEqual(new Set([expect.stringMatching(/^tx\.charge\//)]));
      // The same message again (a redelivery): recorded, so the handler does not run.
      const [key] = [...inbox.recorded];
      const id = key!.split('/')[1]!;
      let ran = false;
      expect(
        await inbox.runOnce('tx.charge', id, async () => {
          ran = true;
        }),
      ).toBe(false);
      expect(ran).toBe(false);
      // publishEvent is not part of the transaction: the failed first run published too (use an outbox for that).
      await expect.poll(() => published.length).toBe(2);
    } finally {
      await service.stop();
    }
  });

  it('is refused on a query handler', () => {
    const service = createService({ name: 'tx-q', transport: 'memory://', handleSignals: false });
    const Ask = defineQuery('tx.ask', z.object({}), z.string());
    expect(() => service.handle(Ask, () => 'x', { transactionalInbox: new FakeTransactionalInbox() })).toThrow(
      /not queries/,
    );
  });
});
