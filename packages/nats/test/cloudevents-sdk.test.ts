import { jetstream } from '@nats-io/jetstream';
import { type Msg, type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import {
  brokerReachable,
  type ForeignEventSpec,
  foreignProducerScenario,
  switchyardOutput,
  waitFor,
} from '@switchyard/testing';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsTransport } from '../src/index.js';
import { channelToken } from '../src/names.js';
import { adminConnection, deleteStreams, NATS_URL, probeNats, uniquePrefix } from './helpers.js';

const reachable = await brokerReachable(`NATS at ${NATS_URL}`, probeNats);
const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2, 8)}`;

/**
 * The NATS binding's header value encoding (spec 1.0.3-wip, 3.1.3.2), written
 * here from the spec and not taken from the transport: space, `"`, `%` and
 * everything outside printable ASCII as `%XY` per UTF-8 byte.
 */
const bindingEncode = (value: string) =>
  value.replace(/[^\x21\x23\x24\x26-\x7e]/gu, (char) =>
    [...Buffer.from(char, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );

/**
 * The foreign party is the official CloudEvents SDK, which builds and
 * validates the events; the SDK has no NATS binding, so the NATS binding's
 * mapping (spec 1.0.3-wip: every attribute as `ce-<name>`, `datacontenttype`
 * included, values percent-encoded; structured when `content-type` is
 * `application/cloudevents…`) is written out here, and the SDK's HTTP binding
 * supplies the `ce-*` + `content-type` form the Go SDK's NATS binding writes.
 * A plain NATS client only moves the bytes.
 */
describe.runIf(reachable)('CloudEvents SDK as the foreign party on NATS', () => {
  const prefix = uniquePrefix('ce');
  const transports: NatsTransport[] = [];
  let admin: NatsConnection;
  const transport = () => {
    const made = new NatsTransport({ url: NATS_URL, prefix });
    transports.push(made);
    return made;
  };

  beforeAll(async () => {
    admin = await adminConnection();
  });

  afterAll(async () => {
    await Promise.allSettled(transports.map((t) => t.close()));
    await admin?.close();
    await deleteStreams(prefix);
  });

  /** The NATS message (headers and payload) for `spec` in `mode`. */
  function natsMessage(spec: ForeignEventSpec, mode: string): { headers: Record<string, string>; body: string } {
    const event = new CloudEvent({ ...spec });
    if (mode === 'structured') {
      const message = HTTP.structured(event);
      return { headers: { 'content-type': String(message.headers['content-type']) }, body: String(message.body) };
    }
    if (mode === 'binary content-type') {
      const message = HTTP.binary(event);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(message.headers)) headers[name] = bindingEncode(String(value));
      return { headers, body: String(message.body) };
    }
    // The binding as written: every context attribute, datacontenttype too, as ce-<name>.
    const { data, ...attributes } = event.toJSON() as Record<string, unknown>;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(attributes)) {
      if (value !== undefined) headers[`ce-${name}`] = bindingEncode(String(value));
    }
    return { headers, body: JSON.stringify(data) };
  }

  it('SDK-built commands and events, binary (ce-datacontenttype or content-type) and structured, reach typed handlers', async () => {
    const js = jetstream(admin);
    const publish = async (subject: string, spec: ForeignEventSpec, mode: string) => {
      const { headers, body } = natsMessage(spec, mode);
      const h = natsHeaders();
      for (const [name, value] of Object.entries(headers)) h.set(name, value);
      await js.publish(subject, body, { headers: h });
    };
    await foreignProducerScenario(
      transport,
      {
        modes: ['binary ce-datacontenttype', 'binary content-type', 'structured'],
        // A command: the service's channel subject.
        sendCommand: (service, spec, mode) => publish(`${prefix}.ch.${channelToken(service)}`, spec, mode),
        // An event: the subject of its type. No Switchyard header.
        publishEvent: (spec, mode) => publish(`${prefix}.ev.${spec.type}`, spec, mode),
      },
      { orders: unique('ce-orders'), shipping: unique('ce-shipping') },
    );
  });

  it("Switchyard's command and event are valid CloudEvents 1.0 under the NATS binding, read with the SDK", async () => {
    const foreign = unique('ce-foreign');
    const seen: Msg[] = [];
    const taps = [`${prefix}.ch.${channelToken(foreign)}`, `${prefix}.ev.interop.shipment.sent`].map((subject) =>
      admin.subscribe(subject, { callback: (_error, msg) => void seen.push(msg) }),
    );
    await admin.flush();
    try {
      const sent = await switchyardOutput(transport(), {
        sender: unique('ce-sender'),
        foreignService: foreign,
        eventType: 'interop.shipment.sent',
      });
      await waitFor(
        () => seen.length === 2,
        () => `messages read: ${seen.length}/2`,
      );
      const events = seen.map((msg) => {
        const raw: Record<string, string> = {};
        for (const name of msg.headers?.keys() ?? []) raw[name.toLowerCase()] = msg.headers?.get(name) ?? '';
        // Every ce- value is as the binding allows it on the wire: printable ASCII, no space or double quote.
        for (const [name, value] of Object.entries(raw)) {
          if (name.startsWith('ce-')) expect(value).toMatch(/^[\x21\x23-\x7e]*$/);
        }
        expect(raw['ce-datacontenttype']).toBe('application/json');
        // The NATS binding's receiver: ce-* percent-decoded; datacontenttype handed to the SDK as content-type.
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(raw)) {
          if (name === 'ce-datacontenttype') headers['content-type'] = value;
          else if (name.startsWith('ce-')) headers[name] = decodeURIComponent(value);
        }
        return HTTP.toEvent({ headers, body: new TextDecoder().decode(msg.data) }) as CloudEvent<unknown>;
      });
      for (const event of events) expect(event.validate()).toBe(true);
      expect(events.find((e) => e.type === 'interop.order.place')).toMatchObject({
        specversion: '1.0',
        source: expect.any(String),
        datacontenttype: 'application/json',
        data: sent.command,
        targetservice: foreign,
      });
      expect(events.find((e) => e.type === 'interop.shipment.sent')).toMatchObject({ data: sent.event });
    } finally {
      for (const tap of taps) tap.unsubscribe();
    }
  });
});
