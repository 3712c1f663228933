import {
  type Attributes,
  type Context,
  type Counter,
  context,
  createNoopMeter,
  type Histogram,
  isSpanContextValid,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { SendOrigin } from '../bus/dispatcher.js';
import { ConfigurationError, SwitchyardError } from '../errors.js';
import type { Envelope } from '../message/envelope.js';
import type { OutboundMessage } from '../message/outbound.js';
import type { Transport } from '../transport/types.js';
import type { Observers } from '../util/observers.js';
import { ChannelGauges } from './channel-gauges.js';
import { ProcessTargets } from './process-target.js';
import { type SendTarget, SendTargets } from './send-target.js';
import { Tally } from './tally.js';
import { formatTraceparent, withRemoteParent } from './trace-context.js';

/** The API's no-op tracer provider: what the global proxy delegates to while no SDK is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();
/** The API's no-op counter: what every counter of a no-op meter is. */
const NOOP_COUNTER = createNoopMeter().createCounter('noop');

/** Instrumentation scope name of Switchyard's spans and metrics. */
export const INSTRUMENTATION_SCOPE = '@switchyard/core';

/** Options of a service's tracing and metrics (`ServiceOptions.telemetry`). */
export interface TelemetryOptions {
  /** Where spans go (default: the global tracer provider of `@opentelemetry/api`, a no-op without an SDK). */
  readonly tracerProvider?: TracerProvider;
  /** Where metrics go (default: the global meter provider, read when the service starts). */
  readonly meterProvider?: MeterProvider;
  /**
   * How a consumer's `process` span relates to the producer's span: `child`
   * (default: one trace across services) or `link` (a new trace per handler
   * run, linked to the producer's span).
   */
  readonly consumerSpans?: 'child' | 'link';
  /**
   * How long one read of the broker's channel stats (the `switchyard.channel.*`
   * gauges) is reused, in ms (default 10 000): collections within that time
   * report the same figures and do not ask the broker again. 0 asks at every
   * collection.
   */
  readonly channelStatsMaxAgeMs?: number;
}

/** The messaging.system value of a transport name (the conventions' well-known values where one exists). */
export function messagingSystem(transportName: string): string {
  return transportName === 'sqs' ? 'aws_sqs' : transportName;
}

/** A producer span in flight and the outbound message carrying its context. @internal */
export interface ProducerSpan {
  readonly span: Span;
  readonly outbound: OutboundMessage;
  readonly target: SendTarget;
}

/**
 * One service's tracing and metrics, through `@opentelemetry/api` only. With
 * no SDK installed every call lands on the API's no-op tracer and meter: no
 * span is recorded, no header is rewritten, nothing is exported.
 *
 * Spans (OpenTelemetry messaging semantic conventions): a PRODUCER span per
 * message sent (`send <destination>`), whose context replaces the message's
 * `ce-traceparent`/`ce-tracestate`; a CONSUMER span per handler run
 * (`process <channel>`), child of (or linked to) the producer's context, with
 * retries (`retry`), exceptions and the final failure (`dead_letter`,
 * `discard`, `stop`) as events and `switchyard.outcome` as attribute.
 *
 * Metrics: `messaging.client.sent.messages`, `messaging.client.consumed.messages`,
 * `messaging.process.duration` (s), `switchyard.retries`, `switchyard.dead_letters`
 * (by `error.type` = the reason's code), `switchyard.discarded`,
 * `switchyard.inbox.duplicates`, `switchyard.handlers.in_flight`.
 * @internal Built by the service from `ServiceOptions.telemetry`.
 */
export class Telemetry {
  readonly service: string;
  readonly linkConsumers: boolean;
  readonly channelStatsMaxAgeMs: number;
  readonly #tracerProvider: TracerProvider | undefined;
  readonly #meterProvider: MeterProvider | undefined;
  #tracer: Tracer | undefined;
  #instruments: Instruments | undefined;
  /** What the process spans and metrics of each handler and channel share (built once each). */
  readonly targets: ProcessTargets;
  /** What the producer spans and sent counts of each destination share (built once each). */
  readonly #sendTargets = new SendTargets();

  constructor(service: string, options: TelemetryOptions = {}) {
    this.service = service;
    this.targets = new ProcessTargets(service);
    this.linkConsumers = options.consumerSpans === 'link';
    const maxAge = options.channelStatsMaxAgeMs ?? 10_000;
    if (!Number.isFinite(maxAge) || maxAge < 0)
      throw new ConfigurationError(
        `telemetry.channelStatsMaxAgeMs must be a number of ms ≥ 0 (0: read at every collection), got ${maxAge}`,
      );
    this.channelStatsMaxAgeMs = maxAge;
    this.#tracerProvider = options.tracerProvider;
    this.#meterProvider = options.meterProvider;
  }

  /**
   * False while spans cannot record: no tracer provider given and none
   * registered globally (the API's no-op). Checked per message, so an SDK
   * registered after the service was created still applies; costs a global
   * lookup and a comparison.
   */
  get tracing(): boolean {
    if (this.#tracerProvider !== undefined) return true;
    const global = trace.getTracerProvider();
    return !(global instanceof ProxyTracerProvider) || global.getDelegate() !== NOOP_TRACER_PROVIDER;
  }

  /** False when the instruments were created from a no-op meter (no SDK when they were first used). */
  get measuring(): boolean {
    return this.instruments.retries !== NOOP_COUNTER;
  }

  get tracer(): Tracer {
    this.#tracer ??= (this.#tracerProvider ?? trace).getTracer(INSTRUMENTATION_SCOPE);
    return this.#tracer;
  }

  /** The instruments; created on first use from the meter provider of that moment. */
  get instruments(): Instruments {
    this.#instruments ??= createInstruments(this.meter, this.targets);
    return this.#instruments;
  }

  /** The meter of the meter provider of this moment. */
  get meter(): Meter {
    return (this.#meterProvider ?? metrics).getMeter(INSTRUMENTATION_SCOPE);
  }

  /**
   * The `switchyard.channel.*` gauges of `channels` on `transport` (see
   * {@link ChannelGauges}); undefined when no meter provider measures or the
   * transport reports no channel stats. The caller closes them on stop.
   */
  observeChannels(
    transport: Transport,
    channels: readonly string[],
    onError: (error: unknown) => void,
  ): ChannelGauges | undefined {
    if (!this.measuring || transport.channelStats === undefined || !transport.capabilities.channelStats?.length)
      return undefined;
    return new ChannelGauges(this.meter, {
      transport,
      channels,
      system: messagingSystem(transport.name),
      group: this.service,
      maxAgeMs: this.channelStatsMaxAgeMs,
      onError,
    });
  }

  /**
   * Subscribe the metrics and span events that come from the service's
   * observer events. Called when the service starts: the counters of `sent`,
   * `duplicate` and `deadLettered` are subscribed only if a meter provider is
   * there then (so a service without an SDK pays nothing per send).
   */
  observe(observers: Observers): void {
    const group = { 'messaging.consumer.group.name': this.service };
    observers.on('retried', ({ envelope, nextAttempt, delayMs, handler }) => {
      this.instruments.retries.add(1, { ...group, 'switchyard.handler': handler });
      processSpanOf(envelope)?.addEvent('retry', {
        'switchyard.next_attempt': nextAttempt,
        'switchyard.delay_ms': delayMs,
      });
    });
    observers.on('failed', ({ envelope, error }) => {
      processSpanOf(envelope)?.recordException(error instanceof Error ? error : String(error));
    });
    if (!this.measuring) return;
    const sent = this.instruments.sent;
    observers.on('sent', ({ outbound, origin }) => {
      this.#sendTargets.of(outbound.destination).sent(sent, origin).value++;
    });
    observers.on('duplicate', () => this.instruments.duplicates.add(1, group));
    observers.on('replyDropped', ({ reason }) =>
      this.instruments.droppedReplies.add(1, { ...group, 'switchyard.reason': reason }),
    );
    observers.on('deadLettered', ({ record }) => {
      this.instruments.deadLetters.add(1, { ...group, 'error.type': record.reason.code });
    });
  }

  /**
   * Start the PRODUCER span of one outbound message. Its parent: for `replay`
   * and `outbox`, the trace the message already carries (the original trace);
   * otherwise the active span, or else the trace the message carries (the
   * handled message's, inside a handler), or else none. Returns undefined
   * without an SDK: the message goes out as it is. Otherwise the returned
   * outbound carries the span's context, also when the sampler dropped the
   * span (sampled flag off, so the consumers' ParentBased samplers drop theirs).
   */
  startProducer(outbound: OutboundMessage, origin: SendOrigin): ProducerSpan | undefined {
    if (!this.tracing) return undefined;
    const message = outbound.message;
    const headers = message.headers;
    const active = context.active();
    const parent: Context =
      origin === 'replay' || origin === 'outbox' || trace.getSpan(active) === undefined
        ? withRemoteParent(active, headers['ce-traceparent'], headers['ce-tracestate'])
        : active;
    const target = this.#sendTargets.of(outbound.destination);
    const span = this.tracer.startSpan(
      target.spanName,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          // Known from the second message to a service on (undefined, skipped, before): set at the start, not
          // by one more setAttribute at the end (the SDK checks each attribute, at a cost per call).
          'messaging.system': target.knownSystem,
          'messaging.operation.type': 'send',
          'messaging.operation.name': target.operation,
          'messaging.destination.name': target.name,
          'messaging.message.id': message.id,
          'messaging.message.conversation_id': headers['ce-correlationid'] ?? '',
          'switchyard.message.type': headers['ce-type'] ?? '',
          'switchyard.origin': origin,
          'switchyard.service': this.service,
        },
      },
      parent,
    );
    const spanContext = span.spanContext();
    // A span the sampler dropped still carries its context out (sampled flag off), so that a
    // ParentBased sampler downstream follows this decision instead of sampling the trace anew.
    if (!span.isRecording() && !isSpanContextValid(spanContext)) return undefined;
    // Copied with Object.assign, not a spread: in V8 `{ ...headers, newKey }` gives every copy a
    // hidden class of its own, and every later read of the headers (decode) went several times slower.
    const traced: Record<string, string> = Object.assign({}, headers);
    traced['ce-traceparent'] = formatTraceparent(spanContext);
    const state = spanContext.traceState?.serialize();
    if (state) traced['ce-tracestate'] = state;
    else if (traced['ce-tracestate'] !== undefined) delete traced['ce-tracestate'];
    return { span, target, outbound: { destination: outbound.destination, message: { ...message, headers: traced } } };
  }

  /**
   * End a producer span: ok, or failed with `error`. `systems`: the transport
   * names the message went to (asked once per command destination, whose
   * route does not change; per message for events).
   */
  endProducer(producer: ProducerSpan, systems: () => readonly string[], error?: unknown): void {
    const { span } = producer;
    if (producer.target.knownSystem === undefined) {
      const system = producer.target.system(systems);
      if (system !== '') span.setAttribute('messaging.system', system);
    }
    if (error !== undefined) failSpan(span, error);
    span.end();
  }
}

/**
 * Where the process stage keeps the recording span of a handler run: on the
 * envelope its handler sees (which the stage creates per run), under a
 * symbol, so that the observer events and the final-failure stage, which get
 * that envelope, find the span. Not a WeakMap: an entry per message made every
 * garbage collection walk the table (ephemerons), about as costly as the rest
 * of the process stage.
 */
export const PROCESS_SPAN: unique symbol = Symbol('switchyard.processSpan');

/** An envelope the process stage created for a recording span. @internal */
export interface TracedEnvelope extends Envelope {
  readonly [PROCESS_SPAN]?: Span;
}

/** The recording process span of the handler run that sees `envelope`, if any. @internal */
export function processSpanOf(envelope: Envelope): Span | undefined {
  return (envelope as TracedEnvelope)[PROCESS_SPAN];
}

/** Mark `span` failed with `error` (status ERROR, `error.type`, an exception event). */
export function failSpan(span: Span, error: unknown): void {
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** `error.type` of an error: a SwitchyardError's code, else the error's class name. */
export function errorType(error: unknown): string {
  if (error instanceof SwitchyardError) return error.code;
  return error instanceof Error ? error.name : '_OTHER';
}

/** The metric instruments of one service. @internal */
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

function createInstruments(meter: ReturnType<MeterProvider['getMeter']>, targets: ProcessTargets): Instruments {
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
