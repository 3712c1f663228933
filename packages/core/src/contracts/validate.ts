import type { StandardSchemaV1 } from '@standard-schema/spec';
import { ValidationError } from '../errors.js';

/**
 * Validate `value` against a Standard Schema. Resolves with the schema's
 * output (defaults and transforms applied) or throws a ValidationError whose
 * `issues` say what is wrong, with paths. Synchronous schemas are validated
 * without allocating a promise, which matters on the hot path.
 */
export function validate<S extends StandardSchemaV1>(
  messageName: string,
  schema: S,
  value: unknown,
): StandardSchemaV1.InferOutput<S> | Promise<StandardSchemaV1.InferOutput<S>> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) return result.then((settled) => unwrap(messageName, settled));
  return unwrap(messageName, result);
}

function unwrap<T>(messageName: string, result: StandardSchemaV1.Result<T>): T {
  if (result.issues === undefined) return result.value;
  throw new ValidationError(messageName, result.issues.map(describeIssue));
}

function describeIssue(issue: StandardSchemaV1.Issue): string {
  if (!issue.path || issue.path.length === 0) return issue.message;
  const path = issue.path.map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
  return `${path}: ${issue.message}`;
}
