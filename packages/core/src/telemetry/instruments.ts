import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import type { ProcessTargets } from './process-target.js';
import { Tally } from './tally.js';

/**
 * The metric instruments of one service, created once (see
 * {@link createInstruments}). `sent` and `consumed` are tallies, counted in
 * process on the per-message path and observed at collection; the others are
 * the meter's own instruments, used off that path or once per handler run.
 * @internal
 */
export interface Instruments {
  readonly sent: Tally;
  readonly consumed: Tally;
  readonly duration: Histogram<Attributes>;
  readonly retries: Counter<Attributes>;
  readonly deadLetters: Counter<Attributes>;
  readonly discarded: Counter<Attributes>;
  readonly duplicates: Counter<Attributes>;
  readonly droppedReplies: Counter<Attributes>;
}

/**
 * Create a service's instruments on `meter`, and the observable
 * `switchyard.handlers.in_flight`, which reports the in-flight count of each
 * of `targets` at collection. Not idempotent: every call registers new
 * instruments and callbacks, so the caller creates them once and keeps them.
 * With a no-op meter every instrument is the API's no-op one.
 * Throws nothing of its own.
 * @internal
 */
export function createInstruments(meter: Meter, targets: ProcessTargets): Instruments {
  meter
    .createObservableUpDownCounter('switchyard.handlers.in_flight', {
      description: 'Handler runs in progress',
      unit: '{handler}',
    })
    .addCallback((result) => {
      for (const target of targets) result.observe(target.inFlight, target.attributes);
    });
  return {
    sent: new Tally(meter, 'messaging.client.sent.messages', {
      description: 'Messages confirmed by the broker, every origin (send, retry, replay, enqueue, outbox)',
      unit: '{message}',
    }),
    consumed: new Tally(meter, 'messaging.client.consumed.messages', {
      description: 'Handler runs of delivered messages',
      unit: '{message}',
    }),
    duration: meter.createHistogram('messaging.process.duration', {
      description: 'Duration of one handler run, retries in place included',
      unit: 's',
    }),
    retries: meter.createCounter('switchyard.retries', { description: 'Delayed retries scheduled', unit: '{retry}' }),
    deadLetters: meter.createCounter('switchyard.dead_letters', {
      description: 'Messages dead-lettered, by error.type (the reason code)',
      unit: '{message}',
    }),
    discarded: meter.createCounter('switchyard.discarded', {
      description: 'Messages acked and dropped by the final-failure strategy discard',
      unit: '{message}',
    }),
    duplicates: meter.createCounter('switchyard.inbox.duplicates', {
      description: 'Redeliveries the inbox suppressed',
      unit: '{message}',
    }),
    droppedReplies: meter.createCounter('switchyard.replies.dropped', {
      description: 'Replies dropped, by reason: late (after the timeout), malformed, undeliverable',
      unit: '{message}',
    }),
  };
}
