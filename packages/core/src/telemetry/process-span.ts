import type { Span } from '@opentelemetry/api';
import type { Envelope } from '../message/envelope.js';

/**
 * Where the process stage keeps the recording span of a handler run: on the
 * envelope its handler sees (which the stage creates per run), under a
 * symbol, so that the observer events and the final-failure stage, which get
 * that envelope, find the span. Not a WeakMap: an entry per message made every
 * garbage collection walk the table (ephemerons), about as costly as the rest
 * of the process stage.
 * @internal
 */
export const PROCESS_SPAN: unique symbol = Symbol('switchyard.processSpan');

/** An envelope the process stage created for a recording span. @internal */
export interface TracedEnvelope extends Envelope {
  readonly [PROCESS_SPAN]?: Span;
}

/**
 * The recording process span of the handler run that sees `envelope`, if
 * any: undefined without an SDK, when the sampler dropped the span, and for
 * an envelope the process stage did not create (another handler's, or the
 * delivery's own).
 * @internal
 */
export function processSpanOf(envelope: Envelope): Span | undefined {
  return (envelope as TracedEnvelope)[PROCESS_SPAN];
}
