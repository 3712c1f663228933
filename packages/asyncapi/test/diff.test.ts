import {
  assertContractsCompatible,
  type ContractsFile,
  diffContracts,
  exportContracts,
  IncompatibleContractsError,
} from '@switchyard/asyncapi';
import { type Contract, defineCommand, defineEvent } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const base = z.object({ orderId: z.string(), amount: z.number(), note: z.string().optional() });

async function diff(before: Contract[], after: Contract[]) {
  return diffContracts(await exportContracts(before), await exportContracts(after));
}

async function rules(before: z.ZodType, after: z.ZodType) {
  const result = await diff([defineEvent('order.placed', before)], [defineEvent('order.placed', after)]);
  return {
    changes: result.changes.map((c) => ({ path: c.path, rule: c.rule, breaks: [...c.breaks] })),
    consumers: result.breaksConsumers,
    producers: result.breaksProducers,
  };
}

describe('diffContracts', () => {
  it('finds no change between identical exports', async () => {
    expect(await rules(base, base)).toEqual({ changes: [], consumers: false, producers: false });
  });

  it('an added optional field is compatible for both', async () => {
    const result = await rules(base, base.extend({ currency: z.string().optional() }));
    expect(result).toEqual({
      changes: [{ path: 'currency', rule: 'field-added-optional', breaks: [] }],
      consumers: false,
      producers: false,
    });
  });

  it('an added required field breaks producers', async () => {
    const result = await rules(base, base.extend({ currency: z.string() }));
    expect(result.changes).toEqual([{ path: 'currency', rule: 'field-added-required', breaks: ['producers'] }]);
    expect([result.consumers, result.producers]).toEqual([false, true]);
  });

  it('a removed field breaks consumers, required or optional', async () => {
    expect((await rules(base, base.omit({ amount: true }))).changes).toEqual([
      { path: 'amount', rule: 'field-removed', breaks: ['consumers'] },
    ]);
    expect((await rules(base, base.omit({ note: true }))).changes).toEqual([
      { path: 'note', rule: 'field-removed', breaks: ['consumers'] },
    ]);
  });

  it('a field that became required breaks producers; one that became optional breaks consumers', async () => {
    expect((await rules(base, base.extend({ note: z.string() }))).changes).toEqual([
      { path: 'note', rule: 'field-now-required', breaks: ['producers'] },
    ]);
    expect((await rules(base, base.extend({ amount: z.number().optional() }))).changes).toEqual([
      { path: 'amount', rule: 'field-now-optional', breaks: ['consumers'] },
    ]);
  });

  it('a narrowed type breaks producers: number → integer, added bound, fewer enum values, nested field', async () => {
    const narrowed = [
      base.extend({ amount: z.number().int() }),
      base.extend({ orderId: z.string().min(3) }),
      base.extend({ amount: z.number().max(100) }),
    ];
    for (const after of narrowed) {
      const result = await rules(base, after);
      expect(result.changes.map((c) => c.rule)).toContain('type-narrowed');
      expect([result.consumers, result.producers]).toEqual([false, true]);
    }
    const status = z.object({ status: z.enum(['new', 'paid', 'sent']) });
    expect((await rules(status, z.object({ status: z.enum(['new', 'paid']) }))).changes).toEqual([
      { path: 'status', rule: 'type-narrowed', breaks: ['producers'] },
    ]);
    const lines = (qty: z.ZodNumber) => z.object({ items: z.array(z.object({ sku: z.string(), qty })) });
    expect((await rules(lines(z.number()), lines(z.number().int()))).changes).toEqual([
      { path: 'items[].qty', rule: 'type-narrowed', breaks: ['producers'] },
    ]);
  });

  it('a widened type breaks consumers: integer → number, removed bound, more enum values', async () => {
    const result = await rules(base.extend({ amount: z.number().int() }), base);
    expect(result.changes).toEqual([{ path: 'amount', rule: 'type-widened', breaks: ['consumers'] }]);
    const status = z.object({ status: z.enum(['new', 'paid']) });
    expect((await rules(status, z.object({ status: z.enum(['new', 'paid', 'sent']) }))).changes).toEqual([
      { path: 'status', rule: 'type-widened', breaks: ['consumers'] },
    ]);
  });

  it('an incompatible type breaks both, as does narrowing and widening at once', async () => {
    const result = await rules(base, base.extend({ amount: z.string() }));
    expect(result.changes).toEqual([{ path: 'amount', rule: 'type-changed', breaks: ['consumers', 'producers'] }]);
    expect([result.consumers, result.producers]).toEqual([true, true]);
    const swapped = await rules(z.object({ s: z.enum(['a', 'b']) }), z.object({ s: z.enum(['b', 'c']) }));
    expect(swapped.changes).toEqual([{ path: 's', rule: 'type-changed', breaks: ['consumers', 'producers'] }]);
  });

  it('a nullable field is a wider type, also for constrained types', async () => {
    const plain = z.object({ note: z.string().min(2) });
    const nullable = z.object({ note: z.string().min(2).nullable() });
    expect((await rules(plain, nullable)).changes).toEqual([
      { path: 'note', rule: 'type-widened', breaks: ['consumers'] },
    ]);
    expect((await rules(nullable, plain)).changes).toEqual([
      { path: 'note', rule: 'type-narrowed', breaks: ['producers'] },
    ]);
    expect((await rules(z.object({ n: z.string() }), z.object({ n: z.string().nullable() }))).changes).toEqual([
      { path: 'n', rule: 'type-widened', breaks: ['consumers'] },
    ]);
  });

  it('refusing additional properties narrows the object; allowing them again widens it', async () => {
    const strict = z.strictObject({ orderId: z.string() });
    const loose = z.object({ orderId: z.string() });
    expect((await rules(loose, strict)).changes).toEqual([{ path: '', rule: 'type-narrowed', breaks: ['producers'] }]);
    expect((await rules(strict, loose)).changes).toEqual([{ path: '', rule: 'type-widened', breaks: ['consumers'] }]);
  });

  it('contracts: added is compatible, removed breaks producers, a changed kind breaks both', async () => {
    const placed = defineEvent('order.placed', base);
    const place = defineCommand('order.place', base);
    const added = await diff([placed], [placed, place]);
    expect(added.changes.map((c) => [c.rule, c.breaks])).toEqual([['contract-added', []]]);
    const removed = await diff([placed, place], [placed]);
    expect(removed.changes.map((c) => [c.rule, c.breaks])).toEqual([['contract-removed', ['producers']]]);
    const kind = await diff([placed], [defineCommand('order.placed', base)]);
    expect(kind.changes.map((c) => [c.rule, c.breaks])).toEqual([['kind-changed', ['consumers', 'producers']]]);
  });
});

describe('assertContractsCompatible', () => {
  it('resolves for a compatible change and rejects naming the breaking change', async () => {
    const before = [defineEvent('order.placed', base)];
    await expect(
      assertContractsCompatible(before, [defineEvent('order.placed', base.extend({ tag: z.string().optional() }))]),
    ).resolves.toMatchObject({ breaksConsumers: false, breaksProducers: false });
    const broken = assertContractsCompatible(before, [defineEvent('order.placed', base.omit({ amount: true }))]);
    await expect(broken).rejects.toBeInstanceOf(IncompatibleContractsError);
    await expect(broken).rejects.toThrow(
      /order\.placed: required field 'amount' was removed \(field-removed, breaks consumers\)/,
    );
  });

  it('checks only the sides asked for, and accepts contract files', async () => {
    const before: ContractsFile = await exportContracts([defineEvent('order.placed', base)]);
    const after = [defineEvent('order.placed', base.extend({ currency: z.string() }))];
    await expect(assertContractsCompatible(before, after, ['consumers'])).resolves.toMatchObject({
      breaksProducers: true,
    });
    await expect(assertContractsCompatible(before, after, ['producers'])).rejects.toThrow(/field-added-required/);
  });
});
