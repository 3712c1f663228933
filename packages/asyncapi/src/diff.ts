import type { ContractsFile } from './contracts-file.js';
import type { JsonSchema } from './json-schema.js';

/** Who a change can break. Consumers: services built on the old contract receiving what new producers send. Producers: services still sending the old shape to consumers built on the new contract. */
export type Side = 'consumers' | 'producers';

/** The rules of {@link diffContracts}; docs/asyncapi.md lists them with examples. */
export type ChangeRule =
  | 'contract-added'
  | 'contract-removed'
  | 'kind-changed'
  | 'field-added-optional'
  | 'field-added-required'
  | 'field-removed'
  | 'field-now-required'
  | 'field-now-optional'
  | 'type-narrowed'
  | 'type-widened'
  | 'type-changed';

/** One difference between two versions of a contract. `breaks` is empty for a compatible change. */
export interface ContractChange {
  readonly contract: string;
  /** Where in the payload: `items[].sku`, or `` for the payload itself. */
  readonly path: string;
  readonly rule: ChangeRule;
  readonly breaks: readonly Side[];
  readonly description: string;
}

/** The result of a diff: every change, and whether any breaks consumers or producers. */
export interface ContractsDiff {
  readonly changes: readonly ContractChange[];
  readonly breaksConsumers: boolean;
  readonly breaksProducers: boolean;
}

const BREAKS: Readonly<Record<ChangeRule, readonly Side[]>> = {
  'contract-added': [],
  // Old producers still send it; nothing built on the new contracts accepts it.
  'contract-removed': ['producers'],
  'kind-changed': ['consumers', 'producers'],
  'field-added-optional': [],
  // Old producers do not send it.
  'field-added-required': ['producers'],
  // Consumers built on the old contract read it (and reject its absence when it was required).
  'field-removed': ['consumers'],
  'field-now-required': ['producers'],
  'field-now-optional': ['consumers'],
  // The new schema accepts less: what old producers send may be rejected.
  'type-narrowed': ['producers'],
  // The new schema accepts more: what new producers send may be rejected by old consumers.
  'type-widened': ['consumers'],
  'type-changed': ['consumers', 'producers'],
};

/**
 * Compare two contract exports (see `exportContracts`). Pure. Rules: an added
 * contract or optional field is compatible; a removed field, a field that
 * became optional or a widened type breaks consumers; a removed contract, a
 * new required field, a field that became required or a narrowed type breaks
 * producers; a changed kind or an incompatible type breaks both.
 */
export function diffContracts(before: ContractsFile, after: ContractsFile): ContractsDiff {
  const changes: ContractChange[] = [];
  const names = [...new Set([...Object.keys(before.contracts), ...Object.keys(after.contracts)])].sort();
  for (const name of names) {
    const old = before.contracts[name];
    const next = after.contracts[name];
    const add = (path: string, rule: ChangeRule, description: string) =>
      changes.push({ contract: name, path, rule, breaks: BREAKS[rule], description });
    if (old === undefined) add('', 'contract-added', `${next?.kind} '${name}' was added`);
    else if (next === undefined) add('', 'contract-removed', `${old.kind} '${name}' was removed`);
    else if (old.kind !== next.kind) add('', 'kind-changed', `'${name}' was a ${old.kind}, is a ${next.kind}`);
    else compareSchemas(old.schema, next.schema, '', add);
  }
  return {
    changes,
    breaksConsumers: changes.some((c) => c.breaks.includes('consumers')),
    breaksProducers: changes.some((c) => c.breaks.includes('producers')),
  };
}

type Add = (path: string, rule: ChangeRule, description: string) => void;
type Relation = 'same' | 'narrowed' | 'widened' | 'changed';

function compareSchemas(oldSchema: JsonSchema, nextSchema: JsonSchema, path: string, add: Add): void {
  const old = normalize(oldSchema);
  const next = normalize(nextSchema);
  const where = path === '' ? 'the payload' : `'${path}'`;
  // One change per schema node: narrowed and widened at once is a changed type.
  let overall: Relation = 'same';
  const details: string[] = [];
  const report = (relation: Relation, what: string) => {
    if (relation === 'same') return;
    details.push(what);
    overall = overall === 'same' || overall === relation ? relation : 'changed';
  };
  const types = compareSets(typesOf(old), typesOf(next), (a, b) => a === b || (a === 'number' && b === 'integer'));
  report(types, `type ${describeTypes(old)} → ${describeTypes(next)}`);
  if (types !== 'changed') compareConstraints(old, next, report);
  if (overall !== 'same') {
    const rule = overall === 'narrowed' ? 'type-narrowed' : overall === 'widened' ? 'type-widened' : 'type-changed';
    add(path, rule, `${where}: ${details.join(', ')}`);
  }
  if (types === 'changed') return;
  compareProperties(old, next, path, add);
  if (isSchema(old.items) && isSchema(next.items)) compareSchemas(old.items, next.items, `${path}[]`, add);
}

function compareConstraints(
  old: JsonSchema,
  next: JsonSchema,
  report: (relation: Relation, what: string) => void,
): void {
  report(
    compareValues(valuesOf(old), valuesOf(next)),
    `allowed values ${show(valuesOf(old))} → ${show(valuesOf(next))}`,
  );
  report(compareAlternatives(old, next), 'alternatives (anyOf/oneOf) changed');
  for (const [keyword, stricter] of BOUNDS) {
    const a = old[keyword] as number | undefined;
    const b = next[keyword] as number | undefined;
    if (a === b) continue;
    const relation: Relation =
      a === undefined ? 'narrowed' : b === undefined ? 'widened' : stricter(a, b) ? 'narrowed' : 'widened';
    report(relation, `${keyword} ${a ?? 'none'} → ${b ?? 'none'}`);
  }
  for (const keyword of ['pattern', 'format', 'multipleOf'] as const) {
    const a = old[keyword];
    const b = next[keyword];
    if (a === b) continue;
    report(
      a === undefined ? 'narrowed' : b === undefined ? 'widened' : 'changed',
      `${keyword} ${show(a)} → ${show(b)}`,
    );
  }
  const closedBefore = old.additionalProperties === false;
  const closedAfter = next.additionalProperties === false;
  if (closedBefore !== closedAfter)
    report(closedAfter ? 'narrowed' : 'widened', `additional properties ${closedAfter ? 'refused' : 'allowed'}`);
}

function compareProperties(old: JsonSchema, next: JsonSchema, path: string, add: Add): void {
  const before = (old.properties ?? {}) as Record<string, JsonSchema>;
  const after = (next.properties ?? {}) as Record<string, JsonSchema>;
  const requiredBefore = new Set((old.required ?? []) as string[]);
  const requiredAfter = new Set((next.required ?? []) as string[]);
  for (const field of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const at = path === '' ? field : `${path}.${field}`;
    const a = before[field];
    const b = after[field];
    if (a === undefined) {
      if (requiredAfter.has(field)) add(at, 'field-added-required', `required field '${at}' was added`);
      else add(at, 'field-added-optional', `optional field '${at}' was added`);
    } else if (b === undefined) {
      add(at, 'field-removed', `${requiredBefore.has(field) ? 'required' : 'optional'} field '${at}' was removed`);
    } else {
      if (!requiredBefore.has(field) && requiredAfter.has(field))
        add(at, 'field-now-required', `'${at}' became required`);
      if (requiredBefore.has(field) && !requiredAfter.has(field))
        add(at, 'field-now-optional', `'${at}' became optional`);
      compareSchemas(a, b, at, add);
    }
  }
}

/** `anyOf: [X, { type: 'null' }]` (a nullable constrained type) as X with `null` added to its types. */
function normalize(schema: JsonSchema): JsonSchema {
  const list = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (list?.length !== 2) return schema;
  const isNull = (s: JsonSchema) => s.type === 'null' && Object.keys(s).length === 1;
  const other = list.find((s) => !isNull(s));
  if (other === undefined || !list.some(isNull) || typeof other.type !== 'string') return schema;
  const { anyOf: _anyOf, oneOf: _oneOf, ...rest } = schema;
  return { ...rest, ...other, type: [other.type, 'null'] };
}

/** Numeric bounds, each with "is `b` stricter than `a`". */
const BOUNDS: ReadonlyArray<[string, (a: number, b: number) => boolean]> = [
  ['minimum', (a, b) => b > a],
  ['exclusiveMinimum', (a, b) => b > a],
  ['maximum', (a, b) => b < a],
  ['exclusiveMaximum', (a, b) => b < a],
  ['minLength', (a, b) => b > a],
  ['maxLength', (a, b) => b < a],
  ['minItems', (a, b) => b > a],
  ['maxItems', (a, b) => b < a],
  ['minProperties', (a, b) => b > a],
  ['maxProperties', (a, b) => b < a],
];

/** `type` as a set; undefined = any type. */
function typesOf(schema: JsonSchema): Set<string> | undefined {
  const type = schema.type;
  if (typeof type === 'string') return new Set([type]);
  if (Array.isArray(type)) return new Set(type as string[]);
  return undefined;
}

/** `const` / `enum` as a set of JSON texts; undefined = unrestricted. */
function valuesOf(schema: JsonSchema): Set<string> | undefined {
  if ('const' in schema) return new Set([JSON.stringify(schema.const)]);
  if (Array.isArray(schema.enum)) return new Set((schema.enum as unknown[]).map((v) => JSON.stringify(v)));
  return undefined;
}

/** Compare two sets where undefined means "everything"; `covers(a, b)`: a member `a` admits `b`. */
function compareSets(
  old: Set<string> | undefined,
  next: Set<string> | undefined,
  covers: (a: string, b: string) => boolean = (a, b) => a === b,
): Relation {
  if (old === undefined && next === undefined) return 'same';
  if (old === undefined) return 'narrowed';
  if (next === undefined) return 'widened';
  const nextInOld = [...next].every((b) => [...old].some((a) => covers(a, b)));
  const oldInNext = [...old].every((a) => [...next].some((b) => covers(b, a)));
  if (nextInOld && oldInNext) return 'same';
  if (nextInOld) return 'narrowed';
  if (oldInNext) return 'widened';
  return 'changed';
}

function compareValues(old: Set<string> | undefined, next: Set<string> | undefined): Relation {
  return compareSets(old, next);
}

function compareAlternatives(old: JsonSchema, next: JsonSchema): Relation {
  const alternatives = (schema: JsonSchema) => {
    const list = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
    return list === undefined ? undefined : new Set(list.map((s) => JSON.stringify(s)));
  };
  const a = alternatives(old);
  const b = alternatives(next);
  if (a === undefined || b === undefined) return a === b ? 'same' : 'changed';
  return compareSets(a, b);
}

function describeTypes(schema: JsonSchema): string {
  const types = typesOf(schema);
  return types === undefined ? 'any' : [...types].join('|');
}

function show(value: unknown): string {
  if (value instanceof Set) return [...value].join(', ');
  return value === undefined ? 'none' : JSON.stringify(value);
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
