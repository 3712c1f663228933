import type { HandlerRegistration } from '../../handlers/registry.js';
import type { Envelope } from '../../message/envelope.js';
import type { Delivery } from '../../transport/types.js';

/**
 * The receive pipeline's runner: stages composed in order, each calling the
 * next, the way Hono's `compose` or Watermill's router middleware do.
 *
 * A stage's result is a {@link Step}: `undefined` when it finished
 * synchronously, a promise when something on the way was asynchronous. Most
 * deliveries on a busy consumer finish synchronously (in-memory inbox,
 * synchronous schema, synchronous handler), and a microtask per stage was a
 * measurable share of the per-message cost; so nothing here awaits unless it
 * has to. The fork between "finished" and "still running" is written once, in
 * this file ({@link after}, {@link withValue}, {@link recover}, {@link each}); a
 * stage uses them instead of branching on promises itself.
 *
 * A stage fails by throwing (synchronously) or by returning a rejected promise;
 * both mean the same and the helpers treat them alike. Errors that reject the
 * message (decode, routing, validation, a handler out of retries) are
 * dead-lettered by the dead-letter stage; anything else (a store or the broker
 * failed) reaches the receiver, which nacks the delivery so it comes back.
 *
 * Interceptors plug in as stages. A tracing span, a metric or a user
 * interceptor around handling is a {@link Stage} placed where it should see
 * the run: around `next` of the handler pipeline to span one handler (it sees
 * the outcome in `run.outcome` after `next`), or at the head of the delivery
 * pipeline to span the whole delivery. A stage must call `next(run)` at most
 * once per call unless it retries (as instant-retry does), must pass the run
 * object it got, and must not swallow errors it does not own.
 */

/** Result of a stage: undefined when finished synchronously, else a promise of the same. */
export type Step = undefined | Promise<void>;

/** The rest of the pipeline after a stage. */
export type Next<R> = (run: R) => Step;

/**
 * One named step of a pipeline, as middleware: given the rest of the pipeline
 * (`next`), it returns its own step, which does the stage's work and calls
 * `next(run)` to continue (or does not, to end the run there). `wrap` runs once,
 * when the pipeline is composed; the step it returns runs per delivery, so it
 * should allocate nothing it can set up in `wrap`.
 */
export interface Stage<R> {
  /** Short name, for logs, tests and the docs (`decode`, `dedup`, …). */
  readonly name: string;
  wrap(next: Next<R>): Next<R>;
}

/** How one handler's run ended; set by the stage that decided it. */
/** `answered`: a request whose handler failed was answered with an error reply (see `reply.ts`). */
export type Outcome = 'handled' | 'duplicate' | 'retried' | 'deadLettered' | 'discarded' | 'answered';

/**
 * What a run carries: the delivery, and once known, its envelope, the handler
 * being run and how that ended. One object per delivery: the handlers of a
 * delivery run one after the other, each on the same object, reset for it by
 * {@link handlerRun} (one allocation per message instead of one per handler).
 */
export interface Run {
  readonly delivery: Delivery;
  envelope: Envelope | undefined;
  handler: HandlerRegistration | undefined;
  outcome: Outcome | undefined;
  /** The payload as the handler gets it: validated (and transformed) by the validate stage. */
  payload: unknown;
  /** Instant retries made so far for the current handler. */
  instantRetries: number;
  /** Time the successful invocation took, set only when someone listens to `handled`. */
  durationMs: number;
  /** What the handler returned (resolved): the reply to a request. */
  result: unknown;
  /**
   * Set by a stage whose work outlives the pipeline but must precede the ack
   * (a reply awaiting its broker confirm): the receiver acks once it resolves,
   * without holding the transport's handler slot meanwhile. Must not reject.
   */
  ackAfter: Promise<void> | undefined;
}

/** One delivery through the delivery pipeline (hold, dead letter, decode, route, handlers). */
export interface DeliveryRun extends Run {
  /** The handlers the route stage chose. */
  handlers: readonly HandlerRegistration[];
}

/** One handler's share of a delivery, through the handler pipeline. */
export interface HandlerRun extends DeliveryRun {
  envelope: Envelope;
  handler: HandlerRegistration;
}

const NO_HANDLERS: readonly HandlerRegistration[] = [];

/** A fresh run of `delivery`, as the receiver starts it. */
export function deliveryRun(delivery: Delivery): DeliveryRun {
  return {
    delivery,
    envelope: undefined,
    handler: undefined,
    outcome: undefined,
    payload: undefined,
    instantRetries: 0,
    durationMs: 0,
    result: undefined,
    ackAfter: undefined,
    handlers: NO_HANDLERS,
  };
}

/** `run`, reset for `handler` over `envelope`: no outcome, no retries yet, the decoded payload. */
export function handlerRun(run: DeliveryRun, envelope: Envelope, handler: HandlerRegistration): HandlerRun {
  run.envelope = envelope;
  run.handler = handler;
  run.outcome = undefined;
  run.payload = envelope.payload;
  run.instantRetries = 0;
  run.durationMs = 0;
  run.result = undefined;
  return run as HandlerRun;
}

/**
 * Compose `stages` into one function, the first stage outermost; the last
 * stage's `next` finishes the run. Each stage's step calls exactly one `next`,
 * fixed at composition, so the calls stay monomorphic and nothing is allocated
 * per run by the runner itself.
 */
export function compose<R>(stages: readonly Stage<R>[]): Next<R> {
  let next: Next<R> = finish;
  for (let i = stages.length - 1; i >= 0; i--) next = (stages[i] as Stage<R>).wrap(next);
  return next;
}

function finish(): Step {
  return undefined;
}

/** `fn(run)` once `step` finished; a failure of `step` skips it. */
export function after<R>(step: Step, run: R, fn: (run: R) => Step): Step {
  return step === undefined ? fn(run) : step.then(() => fn(run));
}

/** `fn(run, value)` once `value` is there (it may be a promise). */
export function withValue<R, T>(value: T | Promise<T>, run: R, fn: (run: R, value: T) => Step): Step {
  return value instanceof Promise ? value.then((ready: T) => fn(run, ready)) : fn(run, value);
}

/** `next(run)`, with `onError(run, error)` for a synchronous throw or a rejection alike. */
export function recover<R>(run: R, next: Next<R>, onError: (run: R, error: unknown) => Step): Step {
  let step: Step;
  try {
    step = next(run);
  } catch (error) {
    return onError(run, error);
  }
  return step === undefined ? undefined : step.then(undefined, (error: unknown) => onError(run, error));
}

/** `fn(run, item)` for each item in order, the next starting when the previous finished. */
export function each<R, T>(run: R, items: readonly T[], fn: (run: R, item: T) => Step, from = 0): Step {
  for (let i = from; i < items.length; i++) {
    const step = fn(run, items[i] as T);
    if (step !== undefined) return step.then(() => each(run, items, fn, i + 1));
  }
  return undefined;
}
