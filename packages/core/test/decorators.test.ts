import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  Asynchronous,
  Command,
  CommandHandler,
  createService,
  Distributed,
  defineEvent,
  defineQuery,
  ErrorCode,
  Event,
  EventHandler,
  type HandlerContext,
  Query,
  QueryHandler,
} from '../src/index.js';
import { MemoryBroker, MemoryTransport } from '../src/memory/index.js';

@Command('account.open')
class OpenAccount {
  static readonly schema = v.object({ owner: v.pipe(v.string(), v.minLength(1)) });
  constructor(readonly owner: string) {}
  greeting(): string {
    return `hello ${this.owner}`;
  }
}

@Event('account.opened')
class AccountOpened {
  constructor(readonly owner: string) {}
}

@Query('account.count')
class CountAccounts {}

const Audit = defineEvent('audit.entry', z.object({ text: z.string() }));
const Balance = defineQuery('account.balance', v.object({ owner: v.string() }), v.number());

class Accounts {
  readonly opened: string[] = [];
  readonly greetings: string[] = [];
  readonly audit: string[] = [];

  @CommandHandler(OpenAccount)
  @Distributed()
  async open(command: OpenAccount, ctx: HandlerContext) {
    this.greetings.push(command.greeting());
    await ctx.publishEvent(new AccountOpened(command.owner));
  }

  @EventHandler('account.*')
  @Distributed()
  onAccount(event: AccountOpened) {
    this.opened.push(event.owner);
  }

  @EventHandler(Audit)
  @Asynchronous('audit')
  record(entry: { text: string }, ctx: HandlerContext) {
    this.audit.push(`${entry.text} via ${ctx.headers.endpoint}/${ctx.headers.targetHandler}`);
  }

  @QueryHandler(CountAccounts)
  count() {
    return this.opened.length;
  }

  @QueryHandler(Balance)
  balance(query: { owner: string }) {
    return query.owner.length * 10;
  }
}

describe('class-style handlers with TC39 decorators', () => {
  it('registers decorated methods, sends class instances and runs asynchronous handlers through the inbox', async () => {
    const broker = new MemoryBroker();
    const accounts = new Accounts();
    const service = createService({
      name: 'accounts',
      transport: new MemoryTransport({ broker }),
      handleSignals: false,
    }).register(accounts);
    await service.start();
    try {
      await service.distributedBus.sendCommand('accounts', new OpenAccount('ada'));
      await expect.poll(() => accounts.opened.length).toBe(1);
      expect(accounts.greetings).toEqual(['hello ada']);
      expect(await service.localBus.ask(new CountAccounts())).toBe(1);
      expect(await service.localBus.ask(Balance, { owner: 'ada' })).toBe(30);
      await service.localBus.publishEvent(Audit, { text: 'opened ada' });
      await expect.poll(() => accounts.audit.length).toBe(1);
      expect(accounts.audit).toEqual(['opened ada via audit/record']);
      await expect(service.distributedBus.sendCommand('accounts', new OpenAccount(''))).rejects.toMatchObject({
        code: ErrorCode.Validation,
      });
    } finally {
      await service.stop();
    }
  });

  it('explains a class that is not a registered message', async () => {
    class Plain {}
    const service = createService({ name: 'x', transport: 'memory://decorators', handleSignals: false });
    await expect(service.distributedBus.sendCommand('x', new Plain())).rejects.toThrow(/decorate it with @Command/);
  });
});
