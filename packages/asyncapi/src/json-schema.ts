import type { StandardJSONSchemaV1, StandardSchemaV1 } from '@standard-schema/spec';
import { ConfigurationError, type Contract } from '@switchyard/core';

/** A JSON Schema document (draft-07, AsyncAPI's default schema format), as plain JSON. */
export type JsonSchema = { readonly [key: string]: unknown };

/** Raised when a contract's schema has no JSON Schema form; names the contract and the library. */
export class SchemaConversionError extends ConfigurationError {
  readonly contract: string;

  constructor(contract: string, detail: string, cause?: unknown) {
    super(`contract '${contract}': its schema cannot be converted to JSON Schema: ${detail}`, { cause });
    this.contract = contract;
  }
}

type ValibotConverter = (schema: unknown, config: { errorMode: 'throw'; typeMode: 'input' }) => JsonSchema;
let valibot: Promise<ValibotConverter | undefined> | undefined;

/**
 * The JSON Schema of what crosses the wire for `contract` (its schema's
 * input side: senders send the payload as given, after validating it).
 * Uses the Standard JSON Schema interface (`~standard.jsonSchema`, e.g. zod 4)
 * when the schema offers it, `@valibot/to-json-schema` for valibot schemas,
 * and rejects with a {@link SchemaConversionError} naming the contract
 * otherwise, or when the library refuses a construct (a transform, a date, a
 * custom check). Pure: the same contract always gives the same schema.
 */
export async function contractJsonSchema(contract: Contract): Promise<JsonSchema> {
  const schema = contract.schema as StandardSchemaV1 & Partial<StandardJSONSchemaV1>;
  const standard = schema['~standard'];
  let converted: JsonSchema;
  if (standard.jsonSchema !== undefined) {
    try {
      converted = standard.jsonSchema.input({ target: 'draft-07' });
    } catch (error) {
      throw new SchemaConversionError(contract.name, `${standard.vendor}: ${(error as Error).message}`, error);
    }
  } else if (standard.vendor === 'valibot') {
    valibot ??= import('@valibot/to-json-schema').then(
      (module) => module.toJsonSchema as unknown as ValibotConverter,
      () => undefined,
    );
    const convert = await valibot;
    if (convert === undefined) {
      throw new SchemaConversionError(contract.name, "install '@valibot/to-json-schema' to convert valibot schemas");
    }
    try {
      converted = convert(schema, { errorMode: 'throw', typeMode: 'input' });
    } catch (error) {
      throw new SchemaConversionError(contract.name, `valibot: ${(error as Error).message}`, error);
    }
  } else {
    throw new SchemaConversionError(
      contract.name,
      `the ${standard.vendor} schema offers no JSON Schema interface (~standard.jsonSchema); use zod 4, valibot, or a library implementing Standard JSON Schema`,
    );
  }
  const { $schema: _dialect, ...rest } = converted;
  return rest;
}
