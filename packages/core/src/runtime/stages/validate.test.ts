import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { delivery, message, registration, runFor } from '../../../test/stage-fixtures.js';
import { ValidationError } from '../../errors.js';
import { validateStage } from './validate.js';

describe('validate stage', () => {
  it("hands the schema's output on as the payload", () => {
    const { handler } = registration(undefined, { schema: z.object({ n: z.number(), tag: z.string().default('x') }) });
    const run = runFor(handler);
    const next = vi.fn(() => undefined);
    validateStage().wrap(next)(run);
    expect(run.payload).toEqual({ n: 1, tag: 'x' });
    expect(next).toHaveBeenCalledOnce();
  });

  it('rejects a payload that breaks the contract with the issues, without going on', () => {
    const { handler } = registration(undefined, { schema: z.object({ n: z.string() }) });
    const next = vi.fn(() => undefined);
    expect(() => validateStage().wrap(next)(runFor(handler))).toThrow(ValidationError);
    expect(() => validateStage().wrap(next)(runFor(handler))).toThrow(/n:/);
    expect(next).not.toHaveBeenCalled();
  });

  it('counts a schema that throws as a validation failure, and waits for asynchronous schemas', async () => {
    const throwing = {
      '~standard': {
        version: 1 as const,
        vendor: 'test',
        validate: () => {
          throw new Error('schema bug');
        },
      },
    };
    expect(() =>
      validateStage().wrap(() => undefined)(runFor(registration(undefined, { schema: throwing }).handler)),
    ).toThrow(ValidationError);
    const later = {
      '~standard': { version: 1 as const, vendor: 'test', validate: async (value: unknown) => ({ value: { value } }) },
    };
    const run = runFor(registration(undefined, { schema: later }).handler, delivery(message({ payload: 5 })));
    await validateStage().wrap(() => undefined)(run);
    expect(run.payload).toEqual({ value: 5 });
    const refusing = {
      '~standard': { version: 1 as const, vendor: 'test', validate: async () => ({ issues: [{ message: 'no' }] }) },
    };
    await expect(
      validateStage().wrap(() => undefined)(runFor(registration(undefined, { schema: refusing }).handler)),
    ).rejects.toThrow(ValidationError);
  });
});
