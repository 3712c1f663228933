import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigurationError, ValidationError } from '../errors.js';
import { defineCommand, defineEvent } from './contract.js';
import { dataSchemaOf, validateIncoming, versionOf } from './versioning.js';

const v1 = z.object({ id: z.string() });
const v3 = z.object({ id: z.string(), name: z.string(), tags: z.array(z.string()) });
const V3 = defineEvent('user.created', v3, {
  version: 3,
  upcast: {
    1: (p) => ({ ...(p as object), name: 'unknown' }),
    2: (p) => ({ ...(p as object), tags: [] }),
  },
});

describe('contract versions', () => {
  it('names a version as a dataschema URI and reads it back; anything else is version 1', () => {
    expect(dataSchemaOf(V3)).toBe('urn:switchyard:user.created:v3');
    expect(dataSchemaOf(defineEvent('user.created', v1))).toBeUndefined();
    expect(versionOf('user.created', 'urn:switchyard:user.created:v3')).toBe(3);
    expect(versionOf('user.created', undefined)).toBe(1);
    expect(versionOf('user.created', 'urn:switchyard:user.deleted:v3')).toBe(1);
    expect(versionOf('user.created', 'https://example.com/schemas/user.json')).toBe(1);
  });

  it('upcasts step by step from the message version to the contract version, then validates', async () => {
    expect(await validateIncoming(V3, { id: 'u1' }, undefined)).toEqual({ id: 'u1', name: 'unknown', tags: [] });
    expect(await validateIncoming(V3, { id: 'u1', name: 'Ann' }, 'urn:switchyard:user.created:v2')).toEqual({
      id: 'u1',
      name: 'Ann',
      tags: [],
    });
    const current = { id: 'u1', name: 'Ann', tags: ['x'] };
    expect(await validateIncoming(V3, current, dataSchemaOf(V3))).toEqual(current);
  });

  it('validates a newer message against an older contract as it is', async () => {
    const V1 = defineEvent('user.created', v1);
    expect(await validateIncoming(V1, { id: 'u1', name: 'Ann', tags: [] }, dataSchemaOf(V3))).toEqual({ id: 'u1' });
  });

  it('fails validation when an upcaster is missing or throws, or its result is invalid', () => {
    const noSteps = defineEvent('user.created', v3, { version: 3 });
    expect(() => validateIncoming(noSteps, { id: 'u1' }, undefined)).toThrow(/version 1.*version 3.*no upcast\[1\]/);
    const throwing = defineEvent('user.created', v1, {
      version: 2,
      upcast: {
        1: () => {
          throw new Error('boom');
        },
      },
    });
    expect(() => validateIncoming(throwing, { id: 'u1' }, undefined)).toThrow(ValidationError);
    expect(() => validateIncoming(throwing, { id: 'u1' }, undefined)).toThrow(/upcast\[1\] failed: boom/);
    const wrong = defineEvent('user.created', v3, { version: 2, upcast: { 1: (p) => p } });
    expect(() => validateIncoming(wrong, { id: 'u1' }, undefined)).toThrow(ValidationError);
  });

  it('rejects a version that is not a positive integer and an upcaster that is not a function', () => {
    expect(() => defineCommand('a.b', v1, { version: 0 })).toThrow(ConfigurationError);
    expect(() => defineCommand('a.b', v1, { version: 1.5 })).toThrow(/positive integer/);
    expect(() => defineCommand('a.b', v1, { version: 2, upcast: { 1: 'x' as never } })).toThrow(/upcast\[1\]/);
  });
});
