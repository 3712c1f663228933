import { ConfigurationError, checkRetention, type DeadLetterRetention, redact } from '@switchyard/core/transport';

/** Options of {@link NatsTransport}. Every field is optional. */
export interface NatsTransportOptions {
  /**
   * `nats://[user:pass@]host[:port]`, or several servers separated by commas
   * (`nats://a:4222,nats://b:4222`). `tls://` asks for TLS. Default `nats://127.0.0.1:4222`.
   */
  readonly url?: string;
  /**
   * Name of everything this transport creates: the stream `<prefix>`, its subjects
   * `<prefix>.ch.<channel>` and `<prefix>.ev.<routing key>`, and the dead-letter stream
   * `<prefix>_dlq`. Two transports only see each other's messages when their prefixes are equal.
   * Letters, digits, `_` and `-`. Default `switchyard`.
   */
  readonly prefix?: string;
  /**
   * JetStream ack wait of the consumers this transport creates: a delivery that is neither settled
   * nor reported in progress for this long goes to another consumer. A live consumer reports every
   * held delivery in progress every `ackWaitMs / 3`, so a long handler keeps its message. Default 30 000 ms.
   */
  readonly ackWaitMs?: number;
  /** How long one pull request waits for messages before the consumer asks again. Default 5 000 ms. */
  readonly pullExpiresMs?: number;
  /**
   * How long `send`/`publish` keep re-publishing a message whose acknowledgement did not come
   * (connection lost, server restarting) before rejecting. Each retry carries the same
   * `Nats-Msg-Id`, so the stream stores the message once. Must be below the stream's duplicate
   * window (2 minutes). Default 30 000 ms.
   */
  readonly sendTimeoutMs?: number;
  /** How long one publish waits for its acknowledgement before it is retried. Default 5 000 ms. */
  readonly publishAckTimeoutMs?: number;
  /** Largest message (headers + body) accepted by `send`/`publish`. Default 1 MiB, the server's default `max_payload`. */
  readonly maxMessageBytes?: number;
  /** Default prefetch of a consumer when `consume` is given none. Default max(concurrency, 256). */
  readonly defaultPrefetch?: number;
  /**
   * `max_ack_pending` of the consumers: deliveries handed out and not yet acknowledged, delayed
   * redeliveries included, before the server stops delivering. Default 20 000.
   */
  readonly maxAckPending?: number;
  /**
   * How often a consumer re-reads its channel's event subscriptions when another process may have
   * changed them (a change made through this transport is seen at once). Default 5 000 ms.
   */
  readonly refreshMs?: number;
  /**
   * Retention of the dead-letter stores of `deadLetterStore(service)`: each `add` removes the
   * service's records older than `maxAgeMs` and the oldest beyond `maxCount`. Default: none,
   * records stay until deleted or replayed.
   */
  readonly deadLetterRetention?: DeadLetterRetention;
  /** Called with connection status changes and errors the client recovers from (for logging). Default: ignored. */
  readonly onConnectionEvent?: (event: { readonly type: string; readonly data?: unknown }) => void;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  readonly servers: string[];
  readonly user: string | undefined;
  readonly pass: string | undefined;
  readonly tls: boolean;
  readonly prefix: string;
  readonly ackWaitMs: number;
  readonly pullExpiresMs: number;
  readonly sendTimeoutMs: number;
  readonly publishAckTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly defaultPrefetch: number;
  readonly maxAckPending: number;
  readonly refreshMs: number;
  readonly deadLetterRetention: DeadLetterRetention | undefined;
  readonly onConnectionEvent: (event: { readonly type: string; readonly data?: unknown }) => void;
}

const PREFIX = /^[A-Za-z0-9_-]+$/;

/** Fill in defaults; throws a ConfigurationError naming the bad option. No I/O. */
export function resolveOptions(options: NatsTransportOptions = {}): ResolvedOptions {
  const { servers, user, pass, tls } = parseServers(options.url ?? 'nats://127.0.0.1:4222');
  const prefix = options.prefix ?? 'switchyard';
  if (!PREFIX.test(prefix)) {
    throw new ConfigurationError(
      `nats option 'prefix' must be letters, digits, '_' or '-' (it names a stream and subjects), got '${prefix}'`,
    );
  }
  const resolved: ResolvedOptions = {
    servers,
    user,
    pass,
    tls,
    prefix,
    ackWaitMs: int('ackWaitMs', options.ackWaitMs, 30_000, 1_000),
    pullExpiresMs: int('pullExpiresMs', options.pullExpiresMs, 5_000, 1_000),
    sendTimeoutMs: int('sendTimeoutMs', options.sendTimeoutMs, 30_000, 100, 110_000),
    publishAckTimeoutMs: int('publishAckTimeoutMs', options.publishAckTimeoutMs, 5_000, 100),
    maxMessageBytes: int('maxMessageBytes', options.maxMessageBytes, 1024 * 1024, 1, 64 * 1024 * 1024),
    defaultPrefetch: int('defaultPrefetch', options.defaultPrefetch, 256, 1),
    maxAckPending: int('maxAckPending', options.maxAckPending, 20_000, 1),
    refreshMs: int('refreshMs', options.refreshMs, 5_000, 100),
    deadLetterRetention: options.deadLetterRetention,
    onConnectionEvent: options.onConnectionEvent ?? (() => {}),
  };
  checkRetention("nats option 'deadLetterRetention'", options.deadLetterRetention);
  if (resolved.publishAckTimeoutMs > resolved.sendTimeoutMs) {
    throw new ConfigurationError("nats option 'publishAckTimeoutMs' must not exceed 'sendTimeoutMs'");
  }
  return resolved;
}

function int(name: string, value: number | undefined, fallback: number, min: number, max = 2 ** 31 - 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`nats option '${name}' must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/** `nats://u:p@a:4222,nats://b:4222` → servers `a:4222`, `b:4222` with the credentials of the first that has any. */
function parseServers(url: string): { servers: string[]; user?: string; pass?: string; tls: boolean } {
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let tls = false;
  for (const part of url.split(',')) {
    const text = part.trim();
    let parsed: URL;
    try {
      parsed = new URL(text.includes('://') ? text : `nats://${text}`);
    } catch (error) {
      throw new ConfigurationError(`nats url '${redact(url)}' is not a valid URL`, { cause: error });
    }
    if (parsed.protocol !== 'nats:' && parsed.protocol !== 'tls:') {
      throw new ConfigurationError(`nats url must start with nats:// or tls://, got '${parsed.protocol}//'`);
    }
    if (parsed.hostname === '') throw new ConfigurationError(`nats url '${redact(url)}' names no host`);
    if (parsed.protocol === 'tls:') tls = true;
    if (user === undefined && parsed.username !== '') {
      user = decodeURIComponent(parsed.username);
      pass = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
    }
    servers.push(`${parsed.hostname}:${parsed.port || '4222'}`);
  }
  return { servers, tls, ...(user !== undefined ? { user } : {}), ...(pass !== undefined ? { pass } : {}) };
}
