import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { SwitchyardError } from '../errors.js';

/**
 * Mark `span` failed with `error`: status ERROR with the error's message, and
 * `error.type` (see {@link errorType}). Does not end the span; the caller
 * does. Calling it twice overwrites the first status. Throws nothing.
 * @internal
 */
export function failSpan(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/**
 * The `error.type` of an error, on spans and metrics alike: a
 * SwitchyardError's code, else the error's class name, else `_OTHER` (the
 * conventions' fallback for a thrown non-Error).
 * @internal
 */
export function errorType(error: unknown): string {
  if (error instanceof SwitchyardError) return error.code;
  return error instanceof Error ? error.name : '_OTHER';
}
