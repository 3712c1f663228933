import {
  ConfigurationError,
  checkRetention,
  type DeadLetterRetention,
  WIRE_FORMS,
  type WireForm,
} from '@switchyard/core/transport';
import type { SubscriptionRegistry } from './subscription-registry.js';

/** Static AWS credentials, for emulators, LocalStack or tests. */
export interface SqsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Native SQS dead-letter queue for every channel queue (off by default; core's dead letter works regardless). */
export interface SqsRedriveOptions {
  /** After this many receives SQS moves the message to the dead-letter queue. Must exceed core's attempts. */
  readonly maxReceiveCount: number;
  /** Channel-style name of the dead-letter queue (default `<channel>-dlq`, one per channel). */
  readonly queueName?: string;
}

/** Options of {@link SqsTransport}. Every field is optional; the defaults target real AWS through the SDK chain. */
export interface SqsTransportOptions {
  /** Service endpoint (e.g. `http://127.0.0.1:4566` for fauxqs or LocalStack). Default: the SDK's for the region. */
  readonly endpoint?: string;
  /** AWS region. Default: the SDK chain (`AWS_REGION`, profile), or `us-east-1` when `endpoint` is set. */
  readonly region?: string;
  /** Static credentials. Default: the SDK credential chain. */
  readonly credentials?: SqsCredentials;
  /** Prepended to every channel name to form the queue name (default `''`). */
  readonly queuePrefix?: string;
  /**
   * How `publish` fans events out:
   * - `sns` (default): one SNS topic, one filtered subscription per channel queue.
   * - `direct`: the transport sends each event to every matching channel queue
   *   itself, using {@link SqsTransportOptions.registry}. No SNS needed, but the
   *   publisher only knows the subscriptions in its registry.
   */
  readonly fanout?: 'sns' | 'direct';
  /**
   * How messages are written: `cloudevents` (default: structured mode) or
   * `ecotone`, as Ecotone's SQS channel (Enqueue) writes them: the payload as
   * the body and every header, Ecotone's distributed-bus headers and the
   * CloudEvents attributes, in the JSON message attribute `Headers`. Needs
   * `fanout: 'direct'`: SNS subscriptions filter on the CloudEvents body. A
   * service map entry's `wire` chooses per target service instead (events
   * published through SNS stay CloudEvents). Ecotone messages are read
   * whichever is chosen.
   */
  readonly wire?: WireForm;
  /** SNS topic name for events (default `switchyard-events`; `.fifo` is appended in FIFO mode). */
  readonly topicName?: string;
  /** Direct fan-out: where channel subscriptions live (default: a registry private to this transport). */
  readonly registry?: SubscriptionRegistry;
  /** FIFO queues (and topic): per-key ordering, broker-side dedup by message id. Default false. */
  readonly fifo?: boolean;
  /**
   * MessageGroupId for FIFO messages without a key. Default: the message id,
   * so keyless messages (which promise no order) are not serialized behind
   * each other; set a fixed id to order keyless messages too.
   */
  readonly defaultGroupId?: string;
  /** Visibility timeout of the queues, in seconds (default 30); running handlers extend it by heartbeat. */
  readonly visibilityTimeoutSeconds?: number;
  /** Long-poll wait of ReceiveMessage, in seconds, 0-20 (default 20). Closing waits for the poll in progress. */
  readonly waitTimeSeconds?: number;
  /**
   * ReceiveMessage calls each consumer keeps in flight at once, 1-10 (default:
   * enough to fill the prefetch, `ceil(prefetch / 10)`, at most 10). One call
   * returns at most 10 messages, so a single poll loop caps a consumer at ten
   * messages per round trip however many handlers wait.
   */
  readonly receivers?: number;
  /** Retention of the dead-letter stores this transport offers (default: keep every record, at most SQS's 14 days). */
  readonly deadLetterRetention?: DeadLetterRetention;
  /** Native dead-letter queue (RedrivePolicy) for every channel queue. Off by default. */
  readonly redrive?: SqsRedriveOptions;
  /** How many times a batch entry that failed on the server side is re-sent before the send rejects (default 3). */
  readonly sendRetries?: number;
  /**
   * Longest delay handed to SQS's DelaySeconds in one hop, 1-900 (default 900,
   * the SQS maximum). Longer delays travel as a chain of re-sends. Lowering it
   * only serves to exercise the chain in tests.
   */
  readonly maxNativeDelaySeconds?: number;
  /** Create a queue on first send or consume when it was never provisioned (default true); otherwise reject. */
  readonly createQueuesOnDemand?: boolean;
}

/** Options with defaults applied. */
export interface ResolvedSqsOptions {
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  readonly credentials: SqsCredentials | undefined;
  readonly queuePrefix: string;
  readonly fanout: 'sns' | 'direct';
  readonly wire: WireForm;
  readonly topicName: string;
  readonly fifo: boolean;
  readonly defaultGroupId: string | undefined;
  readonly visibilityTimeoutSeconds: number;
  readonly waitTimeSeconds: number;
  /** Undefined: derived from each consumer's prefetch. */
  readonly receivers: number | undefined;
  readonly redrive: SqsRedriveOptions | undefined;
  readonly sendRetries: number;
  readonly createQueuesOnDemand: boolean;
  readonly maxNativeDelaySeconds: number;
  readonly deadLetterRetention: DeadLetterRetention | undefined;
}

function integerIn(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`SQS option '${name}' must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** Apply defaults and validate; throws a ConfigurationError saying which option is wrong. */
export function resolveOptions(options: SqsTransportOptions): ResolvedSqsOptions {
  const fanout = options.fanout ?? 'sns';
  if (fanout !== 'sns' && fanout !== 'direct') {
    throw new ConfigurationError(`SQS option 'fanout' must be 'sns' or 'direct', got '${String(fanout)}'`);
  }
  const wire = options.wire ?? 'cloudevents';
  if (!WIRE_FORMS.includes(wire)) {
    throw new ConfigurationError(`SQS option 'wire' must be ${WIRE_FORMS.join(' or ')}, got '${String(wire)}'`);
  }
  if (wire === 'ecotone' && fanout !== 'direct') {
    throw new ConfigurationError(
      "SQS option wire 'ecotone' needs fanout: 'direct' (SNS subscriptions filter on the CloudEvents body, which Ecotone's layout does not have)",
    );
  }
  if (options.endpoint !== undefined) {
    try {
      new URL(options.endpoint);
    } catch (error) {
      throw new ConfigurationError(`SQS option 'endpoint' is not a URL: '${options.endpoint}'`, { cause: error });
    }
  }
  checkRetention('SQS option deadLetterRetention', options.deadLetterRetention);
  const redrive = options.redrive;
  if (redrive) integerIn('redrive.maxReceiveCount', redrive.maxReceiveCount, 1, 1000);
  return {
    endpoint: options.endpoint,
    region: options.region ?? (options.endpoint !== undefined ? (process.env.AWS_REGION ?? 'us-east-1') : undefined),
    credentials: options.credentials,
    queuePrefix: options.queuePrefix ?? '',
    fanout,
    wire,
    topicName: options.topicName ?? 'switchyard-events',
    fifo: options.fifo ?? false,
    defaultGroupId: options.defaultGroupId,
    visibilityTimeoutSeconds: integerIn('visibilityTimeoutSeconds', options.visibilityTimeoutSeconds ?? 30, 1, 43_200),
    waitTimeSeconds: integerIn('waitTimeSeconds', options.waitTimeSeconds ?? 20, 0, 20),
    receivers: options.receivers === undefined ? undefined : integerIn('receivers', options.receivers, 1, 10),
    redrive,
    sendRetries: integerIn('sendRetries', options.sendRetries ?? 3, 0, 20),
    createQueuesOnDemand: options.createQueuesOnDemand ?? true,
    deadLetterRetention: options.deadLetterRetention,
    maxNativeDelaySeconds: integerIn('maxNativeDelaySeconds', options.maxNativeDelaySeconds ?? 900, 1, 900),
  };
}
