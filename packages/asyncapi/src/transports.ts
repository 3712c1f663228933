import { createHash } from 'node:crypto';

/** An AsyncAPI server object derived from a transport URL: protocol and host, never credentials. */
export interface ServerDescription {
  readonly host: string;
  readonly protocol: string;
  readonly pathname?: string;
  readonly description: string;
}

/** Where a logical channel lives on one broker: its physical address and AsyncAPI bindings. */
export interface Placement {
  readonly address: string;
  readonly bindings?: Readonly<Record<string, unknown>>;
}

/**
 * How one transport URL maps Switchyard's logical topology to physical
 * broker names, following each transport's documented nomenclature
 * (docs/transports/*.md) and the URL options that change it (RabbitMQ
 * `exchange`, Redis `prefix`, Kafka `topicPrefix` / `eventsTopic`, SQS
 * `prefix` / `topic` / `fanout` / `fifo`). Pure; reads only the URL.
 */
export interface TransportDescription {
  readonly server: ServerDescription;
  /** A service's inbox channel (commands, plain messages, and the events it subscribed to). */
  inbox(channel: string): Placement;
  /** Where published events go and where a subscription `pattern` of `channel` is bound. */
  subscription(channel: string, pattern: string): Placement;
  /** Where an event named `name` is published. */
  publication(name: string): Placement;
  /** Bindings of the operation that receives on a subscription of `channel` (e.g. Kafka's consumer group). */
  receiveBindings?(channel: string, pattern: string): Readonly<Record<string, unknown>>;
  /** Bindings of a send: to a service's inbox `channel` (`direct`), or of the event `name` (`publish`). */
  sendBindings?(to: { direct: string } | { publish: string }): Readonly<Record<string, unknown>>;
}

/** Describe the transport behind `url` (a `memory:`, `sqlite:`, `amqp(s):`, `redis(s):`, `kafka:`, `sqs(s):`, `nats:` or `postgres:` URL, or `instance:<name>`). */
export function describeTransport(url: string): TransportDescription {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? 'instance';
  switch (scheme) {
    case 'amqp':
    case 'amqps':
      return amqp(url, scheme);
    case 'redis':
    case 'rediss':
      return redis(url, scheme);
    case 'kafka':
      return kafka(url);
    case 'sqs':
    case 'sqss':
      return sqs(url);
    case 'sqlite':
      return local('sqlite', 'localhost', url.slice('sqlite:'.length).split('?')[0] ?? '', 'SQLite file');
    case 'memory':
      return local(
        'memory',
        'localhost',
        `/${/^memory:\/\/([^/?#]*)/.exec(url)?.[1] || 'default'}`,
        'in-process broker',
      );
    default: {
      const { host, pathname } = hostOf(url);
      return local(scheme, host, pathname ?? '', `${scheme} transport`);
    }
  }
}

function hostOf(url: string): { host: string; pathname?: string } {
  try {
    const parsed = new URL(url);
    const pathname = parsed.pathname && parsed.pathname !== '/' ? parsed.pathname : undefined;
    return { host: parsed.host || 'localhost', ...(pathname ? { pathname } : {}) };
  } catch {
    return { host: 'localhost' };
  }
}

function param(url: string, name: string): string | undefined {
  const query = url.indexOf('?');
  if (query === -1) return undefined;
  return new URLSearchParams(url.slice(query + 1)).get(name) ?? undefined;
}

function local(protocol: string, host: string, pathname: string, what: string): TransportDescription {
  return {
    server: { host, protocol, ...(pathname ? { pathname } : {}), description: `Switchyard ${what}` },
    inbox: (channel) => ({ address: channel }),
    subscription: (_channel, pattern) => ({ address: pattern }),
    publication: (name) => ({ address: name }),
  };
}

function amqp(url: string, scheme: string): TransportDescription {
  const exchange = param(url, 'exchange') ?? 'switchyard';
  const { host, pathname } = hostOf(url);
  const vhost = pathname ? decodeURIComponent(pathname.slice(1)) : '/';
  const topic = { name: exchange, type: 'topic', durable: true, autoDelete: false, vhost };
  return {
    server: { host, protocol: scheme, ...(pathname ? { pathname } : {}), description: 'RabbitMQ (AMQP 0-9-1)' },
    inbox: (channel) => ({
      address: channel,
      bindings: {
        amqp: {
          is: 'queue',
          queue: { name: channel, durable: true, exclusive: false, autoDelete: false, vhost },
          bindingVersion: '0.3.0',
        },
      },
    }),
    subscription: (_channel, pattern) => ({
      address: pattern,
      bindings: { amqp: { is: 'routingKey', exchange: topic, bindingVersion: '0.3.0' } },
    }),
    publication: (name) => ({
      address: name,
      bindings: { amqp: { is: 'routingKey', exchange: topic, bindingVersion: '0.3.0' } },
    }),
    // Direct sends go through the default exchange with the queue name as routing key, mandatory; all persistent.
    sendBindings: (to) => ({
      amqp:
        'direct' in to
          ? { cc: [to.direct], deliveryMode: 2, mandatory: true, bindingVersion: '0.3.0' }
          : { cc: [to.publish], deliveryMode: 2, bindingVersion: '0.3.0' },
    }),
  };
}

function redis(url: string, scheme: string): TransportDescription {
  const prefix = param(url, 'prefix') ?? 'switchyard';
  const { host } = hostOf(url);
  return {
    server: { host, protocol: scheme, description: 'Redis Streams' },
    inbox: (channel) => ({ address: `${prefix}:ch:${channel}` }),
    // Publishing fans out to the stream of every channel whose patterns (hash `<prefix>:subs`) match.
    subscription: (channel) => ({ address: `${prefix}:ch:${channel}` }),
    publication: (name) => ({ address: name }),
  };
}

function kafka(url: string): TransportDescription {
  const prefix = param(url, 'topicPrefix') ?? 'switchyard.';
  const events = param(url, 'eventsTopic') ?? `${prefix}events`;
  const brokers = (/^kafka:\/\/([^/?#]+)/.exec(url)?.[1] ?? 'localhost:9092').split(',');
  const topic = (name: string) => ({ kafka: { topic: name, bindingVersion: '0.5.0' } });
  return {
    server: {
      host: (brokers[0] ?? 'localhost:9092').replace(/^[^@]*@/, ''),
      protocol: 'kafka',
      description: `Kafka (bootstrap: ${brokers.map((b) => b.replace(/^[^@]*@/, '')).join(', ')})`,
    },
    inbox: (channel) => ({ address: `${prefix}ch.${channel}`, bindings: topic(`${prefix}ch.${channel}`) }),
    subscription: () => ({ address: events, bindings: topic(events) }),
    publication: () => ({ address: events, bindings: topic(events) }),
    receiveBindings: (channel) => ({
      kafka: { groupId: { type: 'string', enum: [`${prefix}events.${channel}`] }, bindingVersion: '0.5.0' },
    }),
  };
}

function sqs(url: string): TransportDescription {
  const prefix = param(url, 'prefix') ?? '';
  const fifo = param(url, 'fifo') === 'true';
  const sns = (param(url, 'fanout') ?? 'sns') === 'sns';
  const topicName = snsTopicName(param(url, 'topic') ?? 'switchyard-events', fifo);
  const region = param(url, 'region');
  const { host } = hostOf(url);
  const queue = (channel: string) => {
    const name = sqsQueueName(prefix, channel, fifo);
    return { address: name, bindings: { sqs: { queue: { name, fifoQueue: fifo }, bindingVersion: '0.2.0' } } };
  };
  return {
    server: {
      host: host === 'localhost' && region ? `sqs.${region}.amazonaws.com` : host,
      protocol: 'sqs',
      description: sns
        ? `Amazon SQS, events through the SNS topic ${topicName}`
        : 'Amazon SQS, events sent to each queue',
    },
    inbox: queue,
    subscription: (channel) =>
      sns ? { address: topicName, bindings: { sns: { name: topicName, bindingVersion: '0.1.0' } } } : queue(channel),
    publication: (name) =>
      sns ? { address: topicName, bindings: { sns: { name: topicName, bindingVersion: '0.1.0' } } } : { address: name },
  };
}

const INVALID = /[^A-Za-z0-9_-]/g;

function physicalName(raw: string, max: number, fifo: boolean): string {
  const room = max - (fifo ? '.fifo'.length : 0);
  let name = raw.replace(INVALID, '-');
  if (name !== raw || name.length > room || name.length === 0) {
    const hash = createHash('sha256').update(raw).digest('hex').slice(0, 8);
    name = `${name.slice(0, room - hash.length - 1)}-${hash}`;
  }
  return fifo ? `${name}.fifo` : name;
}

/** The SQS queue name the SQS transport uses for `channel` (same rule as @switchyard/sqs `queueName`). */
export function sqsQueueName(prefix: string, channel: string, fifo: boolean): string {
  return physicalName(`${prefix}${channel}`, 80, fifo);
}

/** The SNS topic name the SQS transport uses (same rule as @switchyard/sqs `topicName`). */
export function snsTopicName(name: string, fifo: boolean): string {
  return physicalName(name.endsWith('.fifo') ? name.slice(0, -5) : name, 256, fifo);
}
