import type { Contract } from '@switchyard/core';
import { type ContractsFile, exportContracts } from './contracts-file.js';
import { type ContractsDiff, diffContracts, type Side } from './diff.js';

/** Raised by {@link assertContractsCompatible}; `diff` holds every change. */
export class IncompatibleContractsError extends Error {
  override readonly name = 'IncompatibleContractsError';
  readonly diff: ContractsDiff;

  constructor(message: string, diff: ContractsDiff) {
    super(message);
    this.diff = diff;
  }
}

/**
 * Test helper: resolves with the diff when changing `before` into `after`
 * breaks none of `sides` (default both), rejects with an
 * IncompatibleContractsError listing the breaking changes otherwise. Accepts
 * contract lists (converted with `exportContracts`) or contract files, e.g. a
 * committed `contracts.json` against the contracts in the code:
 *
 * ```ts
 * await assertContractsCompatible(JSON.parse(readFileSync('contracts.json', 'utf8')), [PlaceOrder, OrderPlaced]);
 * ```
 */
export async function assertContractsCompatible(
  before: readonly Contract[] | ContractsFile,
  after: readonly Contract[] | ContractsFile,
  sides: readonly Side[] = ['consumers', 'producers'],
): Promise<ContractsDiff> {
  const toFile = (value: readonly Contract[] | ContractsFile) =>
    Array.isArray(value) ? exportContracts(value as readonly Contract[]) : Promise.resolve(value as ContractsFile);
  const diff = diffContracts(await toFile(before), await toFile(after));
  const breaking = diff.changes.filter((change) => change.breaks.some((side) => sides.includes(side)));
  if (breaking.length > 0) {
    const lines = breaking.map(
      (c) => `  ${c.contract}: ${c.description} (${c.rule}, breaks ${c.breaks.join(' and ')})`,
    );
    throw new IncompatibleContractsError(`contract changes break ${sides.join(' or ')}:\n${lines.join('\n')}`, diff);
  }
  return diff;
}
