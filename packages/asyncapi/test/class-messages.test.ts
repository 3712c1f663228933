import { contractJsonSchema } from '@switchyard/asyncapi';
import { Command, contractOfClass, Event } from '@switchyard/core';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

@Event('klass.shipped')
class Shipped {
  static schema = z.object({ orderId: z.string(), parcels: z.number().int().optional() });
  orderId!: string;
  parcels?: number;
}

@Command('klass.ping')
class Ping {}

@Command('klass.valibot')
class Valibot {
  static schema = v.object({ id: v.string() });
  id!: string;
}

describe('JSON Schema of class messages', () => {
  it('is the static schema’s, or any object without one', async () => {
    expect(await contractJsonSchema(contractOfClass(Shipped))).toMatchObject({
      type: 'object',
      properties: { orderId: { type: 'string' }, parcels: { type: 'integer' } },
      required: ['orderId'],
    });
    expect(await contractJsonSchema(contractOfClass(Ping))).toEqual({ type: 'object' });
  });

  it('names the contract when the static schema has no JSON Schema interface', async () => {
    await expect(contractJsonSchema(contractOfClass(Valibot))).rejects.toThrow(
      /contract 'klass\.valibot'.*static schema of class Valibot \(valibot\) offers no JSON Schema/,
    );
  });
});
