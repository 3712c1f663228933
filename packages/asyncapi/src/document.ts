import {
  ConfigurationError,
  type Contract,
  dataSchemaOf,
  type HandlerRegistration,
  matchesPattern,
  redact,
  type Service,
} from '@switchyard/core';
import { CLOUD_EVENTS_HEADERS } from './headers.js';
import { contractJsonSchema, type JsonSchema } from './json-schema.js';
import { type ResolvedSend, resolveSends, type SendDeclaration } from './senders.js';
import { describeTransport, type Placement, type TransportDescription } from './transports.js';

/** Options of {@link toAsyncApi}. */
export interface AsyncApiOptions {
  /** `info.title` (default `Switchyard system`, or the service name with `service`). */
  readonly title?: string;
  /** `info.version` (default `0.0.0`). */
  readonly version?: string;
  readonly description?: string;
  /** Describe only this service: its own operations and what they reference. Unknown names throw. */
  readonly service?: string;
  /**
   * What each service sends, by service name. Handlers are read from the
   * services; senders cannot be (a send is a call inside code), so they are
   * declared here and become `send` operations.
   */
  readonly sends?: Readonly<Record<string, ReadonlyArray<Contract | SendDeclaration>>>;
}

/** An AsyncAPI 3.0 document as plain JSON (serialize with {@link toYaml} or JSON.stringify). */
export type AsyncApiDocument = { readonly asyncapi: '3.0.0' } & { readonly [key: string]: unknown };

type Json = Record<string, unknown>;

interface Route {
  readonly serverId: string;
  readonly transport: TransportDescription;
  readonly channel: string;
}

/**
 * Build the AsyncAPI 3.0 document of `services` (created, not necessarily
 * started: only their names, service maps and registered handlers are read).
 * Servers come from the transports of the service maps (protocol and host,
 * never credentials); channels from each service's inbox, each event
 * subscription pattern and each published event, with broker bindings;
 * operations from every distributed handler (`receive`) and every declared
 * send (`send`); messages from the contracts, with the CloudEvents headers
 * and the payload as JSON Schema. Rejects with a SchemaConversionError naming
 * the contract whose schema cannot be converted, and with a
 * ConfigurationError for an unknown `service` or a command send without a
 * known target. Deterministic: the same input gives the same document.
 */
export async function toAsyncApi(
  services: readonly Service[],
  options: AsyncApiOptions = {},
): Promise<AsyncApiDocument> {
  if (options.service !== undefined && !services.some((s) => s.name === options.service)) {
    throw new ConfigurationError(
      `service '${options.service}' is not among the services given (${services.map((s) => s.name).join(', ')})`,
    );
  }
  const builder = new Builder();
  for (const service of services) {
    const own = builder.route(service, service.name);
    for (const handler of service.handlers()) {
      if (handler.distributed) await builder.receive(service, own, handler);
    }
  }
  for (const service of services) {
    for (const send of resolveSends(service.name, options.sends, services)) await builder.send(service, send);
  }
  builder.fillSubscriptions();
  const title = options.title ?? options.service ?? 'Switchyard system';
  return builder.document(title, options);
}

class Builder {
  readonly servers = new Map<string, { id: string; json: Json }>();
  readonly channels = new Map<string, Json & { messages: Json }>();
  readonly messages = new Map<string, Json>();
  readonly operations = new Map<string, { owner: string; json: Json }>();
  readonly events = new Map<string, Contract>();
  readonly subscriptions: Array<{ key: string; pattern: string }> = [];

  route(service: Service, target: string): Route {
    const map = service.serviceMap.describe();
    const names = Object.keys(map.transports);
    const entry = map.services[target];
    const transportName = entry?.transport ?? ('default' in map.transports ? 'default' : (names[0] ?? 'default'));
    const url = map.transports[transportName] ?? 'instance:unknown';
    let server = this.servers.get(url);
    if (server === undefined) {
      const taken = new Set([...this.servers.values()].map((s) => s.id));
      let id = key(transportName);
      for (let n = 2; taken.has(id); n++) id = `${key(transportName)}-${n}`;
      const description = describeTransport(url);
      const { host, protocol, pathname, description: text } = description.server;
      server = {
        id,
        json: { host, protocol, ...(pathname ? { pathname } : {}), description: `${text} (${redactAll(url)})` },
      };
      this.servers.set(url, server);
    }
    return { serverId: server.id, transport: describeTransport(url), channel: entry?.channel ?? target };
  }

  async message(contract: Contract | undefined, fallbackName: string): Promise<string> {
    const name = key(contract?.name ?? fallbackName);
    if (this.messages.has(name)) return name;
    const kind = contract?.kind ?? 'message';
    const dataSchema = contract ? dataSchemaOf(contract) : undefined;
    const payload: JsonSchema = contract ? await contractJsonSchema(contract) : { description: 'any JSON value' };
    if (contract?.kind === 'event') this.events.set(contract.name, contract);
    this.messages.set(name, {
      name: contract?.name ?? fallbackName,
      title: contract?.name ?? fallbackName,
      summary: `${kind}${contract?.version !== undefined ? ` (version ${contract.version})` : ''}`,
      contentType: 'application/json',
      headers: {
        allOf: [
          { $ref: '#/components/schemas/CloudEventsHeaders' },
          {
            type: 'object',
            properties: {
              ...(contract ? { 'ce-type': { type: 'string', const: contract.name } } : {}),
              'ce-kind': { type: 'string', const: kind },
              ...(dataSchema ? { 'ce-dataschema': { type: 'string', const: dataSchema } } : {}),
            },
          },
        ],
      },
      payload,
    });
    return name;
  }

  channel(channelKey: string, serverId: string, placement: Placement, description: string): Json & { messages: Json } {
    let channel = this.channels.get(channelKey);
    if (channel === undefined) {
      channel = {
        address: placement.address,
        description,
        servers: [{ $ref: `#/servers/${serverId}` }],
        messages: {},
        ...(placement.bindings ? { bindings: placement.bindings } : {}),
      };
      this.channels.set(channelKey, channel);
    }
    return channel;
  }

  inbox(service: string, route: Route): string {
    const channelKey = key(route.channel === service ? service : `${service}.${route.channel}`);
    this.channel(channelKey, route.serverId, route.transport.inbox(route.channel), `inbox of ${service}`);
    return channelKey;
  }

  async receive(service: Service, own: Route, handler: HandlerRegistration): Promise<void> {
    let channelKey: string;
    let messageKeys: string[];
    let bindings: Readonly<Record<string, unknown>> | undefined;
    if (handler.kind === 'event') {
      channelKey = key(`${service.name}.subscription.${handler.pattern}`);
      this.channel(
        channelKey,
        own.serverId,
        own.transport.subscription(own.channel, handler.pattern),
        `events matching '${handler.pattern}' for ${service.name} (delivered to its inbox ${own.channel})`,
      );
      if (!this.subscriptions.some((s) => s.key === channelKey))
        this.subscriptions.push({ key: channelKey, pattern: handler.pattern });
      messageKeys = handler.contract ? [await this.message(handler.contract, handler.pattern)] : [];
      bindings = own.transport.receiveBindings?.(own.channel, handler.pattern);
    } else {
      channelKey = this.inbox(service.name, own);
      const fallback = handler.kind === 'message' ? `${service.name}.channel.${handler.pattern}` : handler.pattern;
      messageKeys = [await this.message(handler.contract, fallback)];
    }
    this.addMessages(channelKey, messageKeys);
    this.operation(service.name, `${service.name}.receive.${handler.id}`, {
      action: 'receive',
      channel: { $ref: `#/channels/${channelKey}` },
      summary: `${handler.id} handles ${handler.kind === 'event' ? `events matching '${handler.pattern}'` : `${handler.kind} '${handler.pattern}'`}`,
      ...(handler.kind === 'event'
        ? {}
        : { messages: messageKeys.map((m) => ({ $ref: `#/channels/${channelKey}/messages/${m}` })) }),
      ...(bindings ? { bindings } : {}),
    });
  }

  async send(service: Service, { contract, to }: ResolvedSend): Promise<void> {
    const messageKey = await this.message(contract, contract.name);
    let channelKey: string;
    let summary: string;
    let bindings: Readonly<Record<string, unknown>> | undefined;
    if (contract.kind === 'event') {
      const route = this.route(service, service.name);
      bindings = route.transport.sendBindings?.({ publish: contract.name });
      channelKey = key(`${route.serverId}.event.${contract.name}`);
      this.channel(
        channelKey,
        route.serverId,
        route.transport.publication(contract.name),
        `published '${contract.name}' events`,
      );
      summary = `${service.name} publishes ${contract.name}`;
    } else {
      if (to === undefined) {
        throw new ConfigurationError(
          `${service.name} sends ${contract.kind} '${contract.name}', but no given service handles it: declare { contract, to: 'service' }`,
        );
      }
      const route = this.route(service, to);
      bindings = route.transport.sendBindings?.({ direct: route.channel });
      channelKey = this.inbox(to, route);
      summary = `${service.name} sends ${contract.name} to ${to}`;
    }
    this.addMessages(channelKey, [messageKey]);
    this.operation(service.name, `${service.name}.send.${contract.name}`, {
      action: 'send',
      channel: { $ref: `#/channels/${channelKey}` },
      summary,
      messages: [{ $ref: `#/channels/${channelKey}/messages/${messageKey}` }],
      ...(bindings ? { bindings } : {}),
    });
  }

  /** Every known event goes to each subscription channel whose pattern matches it. */
  fillSubscriptions(): void {
    for (const { key: channelKey, pattern } of this.subscriptions) {
      const names = [...this.events.keys()].filter((name) => matchesPattern(pattern, name)).sort();
      this.addMessages(channelKey, names.map(key));
      const receivers = [...this.operations.values()].filter(
        (op) => (op.json.channel as { $ref: string }).$ref === `#/channels/${channelKey}`,
      );
      for (const op of receivers) {
        if (names.length > 0)
          op.json.messages = names.map((name) => ({ $ref: `#/channels/${channelKey}/messages/${key(name)}` }));
      }
    }
  }

  addMessages(channelKey: string, messageKeys: readonly string[]): void {
    const channel = this.channels.get(channelKey);
    if (!channel) return;
    for (const m of messageKeys) channel.messages[m] = { $ref: `#/components/messages/${m}` };
  }

  operation(owner: string, name: string, json: Json): void {
    let id = key(name);
    for (let n = 2; this.operations.has(id); n++) id = key(`${name}.${n}`);
    this.operations.set(id, { owner, json });
  }

  document(title: string, options: AsyncApiOptions): AsyncApiDocument {
    const operations = [...this.operations].filter(
      ([, op]) => options.service === undefined || op.owner === options.service,
    );
    const channelKeys = new Set(
      operations.map(([, op]) => (op.json.channel as { $ref: string }).$ref.slice('#/channels/'.length)),
    );
    const channels = [...this.channels].filter(([k]) => options.service === undefined || channelKeys.has(k));
    const serverRefs = new Set(channels.flatMap(([, c]) => (c.servers as Array<{ $ref: string }>).map((s) => s.$ref)));
    const messageKeys = new Set(channels.flatMap(([, c]) => Object.keys(c.messages)));
    const sorted = <T>(entries: Array<[string, T]>) =>
      Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return {
      asyncapi: '3.0.0',
      info: {
        title,
        version: options.version ?? '0.0.0',
        ...(options.description ? { description: options.description } : {}),
      },
      defaultContentType: 'application/json',
      servers: sorted(
        [...this.servers.values()].filter((s) => serverRefs.has(`#/servers/${s.id}`)).map((s) => [s.id, s.json]),
      ),
      channels: sorted(channels.map(([k, c]) => [k, { ...c, messages: sorted(Object.entries(c.messages)) }])),
      operations: sorted(operations.map(([k, op]) => [k, op.json])),
      components: {
        schemas: { CloudEventsHeaders: CLOUD_EVENTS_HEADERS },
        messages: sorted([...this.messages].filter(([k]) => messageKeys.has(k))),
      },
    };
  }
}

/** A component key: AsyncAPI allows letters, digits, `.`, `-` and `_` (`*` → `star`, `#` → `hash`). */
function key(name: string): string {
  return name
    .replace(/\*/g, 'star')
    .replace(/#/g, 'hash')
    .replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The URL without user, password or query (which may hold credentials, e.g. SQS keys). */
function redactAll(url: string): string {
  const bare = url.split('?')[0] ?? url;
  return redact(bare).replace(/\/\/[^@/]*@/, '//');
}
