import { ConfigurationError, type Contract, type Service } from '@switchyard/core';
import { contractJsonSchema, type JsonSchema } from './json-schema.js';

/** One contract in an export: its kind, version and payload JSON Schema. */
export interface ExportedContract {
  readonly kind: string;
  readonly version: number;
  readonly schema: JsonSchema;
}

/**
 * The file `switchyard contracts export` writes and `switchyard contracts
 * diff` reads: `{ "format": "switchyard-contracts/1", "contracts": { "<message
 * name>": { "kind", "version", "schema" } } }`, contracts sorted by name, the
 * schema being the payload's JSON Schema (draft-07) as `contractJsonSchema`
 * gives it.
 */
export interface ContractsFile {
  readonly format: 'switchyard-contracts/1';
  readonly contracts: Readonly<Record<string, ExportedContract>>;
}

/** The format tag of {@link ContractsFile}. */
export const CONTRACTS_FORMAT = 'switchyard-contracts/1';

/**
 * Export contracts: those given, plus those of every handler of the given
 * services. Rejects with a ConfigurationError when two different contracts
 * share a name, and with a SchemaConversionError for a schema without a JSON
 * Schema form.
 */
export async function exportContracts(
  sources: ReadonlyArray<Contract | Service>,
  extra: readonly Contract[] = [],
): Promise<ContractsFile> {
  const byName = new Map<string, Contract>();
  const add = (contract: Contract) => {
    const known = byName.get(contract.name);
    if (
      known !== undefined &&
      known !== contract &&
      (known.kind !== contract.kind || known.schema !== contract.schema)
    ) {
      throw new ConfigurationError(
        `two different contracts are named '${contract.name}': give each message its own name`,
      );
    }
    byName.set(contract.name, contract);
  };
  for (const source of [...sources, ...extra]) {
    if ('handlers' in source) {
      for (const handler of source.handlers()) if (handler.contract) add(handler.contract);
    } else add(source);
  }
  const contracts: Record<string, ExportedContract> = {};
  for (const name of [...byName.keys()].sort()) {
    const contract = byName.get(name) as Contract;
    contracts[name] = {
      kind: contract.kind,
      version: contract.version ?? 1,
      schema: await contractJsonSchema(contract),
    };
  }
  return { format: CONTRACTS_FORMAT, contracts };
}

/** Parse a contracts file's text; throws a ConfigurationError saying what is wrong (`where` names the file). */
export function parseContractsFile(text: string, where: string): ContractsFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigurationError(`${where} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const file = raw as Partial<ContractsFile> | null;
  if (file === null || typeof file !== 'object' || file.format !== CONTRACTS_FORMAT) {
    throw new ConfigurationError(
      `${where} is not a contracts file: expected { "format": "${CONTRACTS_FORMAT}", "contracts": {...} } as 'switchyard contracts export' writes`,
    );
  }
  if (typeof file.contracts !== 'object' || file.contracts === null) {
    throw new ConfigurationError(`${where}: "contracts" must map message names to { kind, version, schema }`);
  }
  for (const [name, entry] of Object.entries(file.contracts)) {
    if (typeof entry?.kind !== 'string' || typeof entry.schema !== 'object' || entry.schema === null) {
      throw new ConfigurationError(`${where}: contract '${name}' must have a string "kind" and an object "schema"`);
    }
  }
  return file as ContractsFile;
}
