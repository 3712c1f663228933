/**
 * CloudEvents protocol bindings name attribute headers differently: the Kafka
 * binding writes `ce_<attribute>`, the AMQP binding `cloudEvents_<attribute>`
 * or `cloudEvents:<attribute>`, the HTTP binding (and Switchyard's own codec)
 * `ce-<attribute>`. Core works in the `ce-` form only; a transport maps its
 * binding's names to it on receive ({@link toCoreHeaders}) and, where it
 * writes another form, from it on send ({@link toBindingHeaders}).
 */

/** Header-name prefixes of the CloudEvents bindings, as a transport may write them. */
export type BindingPrefix = 'ce-' | 'ce_' | 'cloudEvents_' | 'cloudEvents:';

const CORE_PREFIX = 'ce-';
/** Prefixes read on receive, other than the core form itself. Attribute names are lowercase in every binding. */
const FOREIGN_PREFIXES = ['ce_', 'cloudEvents_', 'cloudEvents:', 'cloudevents_', 'cloudevents:'] as const;

/**
 * The core (`ce-`) name of a binding header, or the name unchanged when it is
 * in no binding form. Pure.
 */
export function coreHeaderName(name: string): string {
  const first = name.charCodeAt(0);
  // Only names starting with 'c' can be binding headers: a cheap test for the hot path.
  if (first !== 99 /* c */ || name.startsWith(CORE_PREFIX)) return name;
  for (const prefix of FOREIGN_PREFIXES) {
    if (name.startsWith(prefix) && name.length > prefix.length) return CORE_PREFIX + name.slice(prefix.length);
  }
  return name;
}

/**
 * `headers` with every binding-form attribute header renamed to the core
 * form (`ce_id`, `cloudEvents:id`, `cloudEvents_id` → `ce-id`). When both a
 * binding form and the core form of one attribute are present, the core form
 * wins. Returns `headers` itself (no copy) when nothing needs renaming.
 */
export function toCoreHeaders(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  let renamed: Record<string, string> | undefined;
  for (const name in headers) {
    if (coreHeaderName(name) === name) continue;
    renamed = {};
    break;
  }
  if (renamed === undefined) return headers;
  for (const name in headers) {
    const core = coreHeaderName(name);
    if (core === name || !(core in headers)) renamed[core] = headers[name] as string;
  }
  return renamed;
}

/**
 * `headers` (core form) with every `ce-` attribute header renamed to
 * `prefix`; other headers (`content-type`, the transport's own) unchanged.
 * Returns `headers` itself for the `ce-` prefix.
 */
export function toBindingHeaders(
  headers: Readonly<Record<string, string>>,
  prefix: BindingPrefix,
): Readonly<Record<string, string>> {
  if (prefix === CORE_PREFIX) return headers;
  const out: Record<string, string> = {};
  for (const name in headers) {
    out[name.startsWith(CORE_PREFIX) ? prefix + name.slice(CORE_PREFIX.length) : name] = headers[name] as string;
  }
  return out;
}

/** True for the content types of CloudEvents structured mode (`application/cloudevents+json`, the batch type too). */
export function isStructuredContentType(contentType: string | undefined): boolean {
  return contentType?.startsWith('application/cloudevents') === true;
}

/**
 * The `type` attribute of a structured-mode body, for a transport that must
 * route on it before core decodes the message; undefined when the body is not
 * a JSON object with a string `type`. Never throws; the parsed object is only
 * read, so plain JSON.parse is safe here.
 */
export function structuredType(body: Uint8Array): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const type = (parsed as { type?: unknown }).type;
    return typeof type === 'string' && type.length > 0 ? type : undefined;
  } catch {
    return undefined;
  }
}
