import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describeError, ValidationError } from '../errors.js';
import type { Contract } from './contract.js';
import { validate } from './validate.js';

const DATA_SCHEMA = /^urn:switchyard:(.+):v([1-9][0-9]{0,8})$/;

/** The `dataschema` URI of a contract version: `urn:switchyard:<name>:v<version>`. */
export function dataSchemaOf(contract: Pick<Contract, 'name' | 'version'>): string | undefined {
  return contract.version === undefined ? undefined : `urn:switchyard:${contract.name}:v${contract.version}`;
}

/**
 * The contract version a message was written with: the `v<n>` of its
 * `dataschema` when that is a Switchyard URI for `name`, else 1 (no attribute,
 * or a foreign schema URI).
 */
export function versionOf(name: string, dataSchema: string | undefined): number {
  if (dataSchema === undefined) return 1;
  const match = DATA_SCHEMA.exec(dataSchema);
  return match !== null && match[1] === name ? Number(match[2]) : 1;
}

/**
 * Validate a received payload against `contract`, upcasting it first when it
 * was written with an older version: `upcast[v]` … `upcast[contract.version - 1]`
 * run in order. Throws (or rejects with) a ValidationError when an upcaster is
 * missing or throws, or when the result does not satisfy the schema; a newer
 * message is validated as it is.
 */
export function validateIncoming(
  contract: Contract,
  payload: unknown,
  dataSchema: string | undefined,
): unknown | Promise<unknown> {
  const target = contract.version ?? 1;
  let value = payload;
  for (let from = versionOf(contract.name, dataSchema); from < target; from++) {
    const step = contract.upcast?.[from];
    if (step === undefined) {
      throw new ValidationError(contract.name, [
        `message is version ${from}, the handler's contract is version ${target}, and there is no upcast[${from}]`,
      ]);
    }
    try {
      value = step(value);
    } catch (error) {
      throw new ValidationError(contract.name, [`upcast[${from}] failed: ${describeError(error)}`]);
    }
  }
  return validate(contract.name, contract.schema as StandardSchemaV1, value);
}
