import { MessagePublisher, type RawMessage, type Transport } from '@switchyard/core';
import { expect } from 'vitest';

/** A message as a test read it back off the broker with the plain driver. */
export interface RawRead {
  readonly body: string;
  /** Headers, attributes or fields as text (the content type included, however the broker carries it). */
  readonly headers: Readonly<Record<string, string>>;
  readonly key?: string;
  readonly routingKey?: string;
}

/** Two raw messages: JSON with caller-chosen headers (camelCase and dotted names), routing key and key; and bytes. */
export const RAW_MESSAGES: readonly RawMessage[] = [
  {
    payload: { legacyId: 7, note: 'héllo ✓' },
    headers: { tenantId: 'acme', 'trace.id': 't-1' },
    routingKey: 'legacy.created',
    key: 'customer-7',
    id: 'raw-1',
  },
  { payload: new TextEncoder().encode('plain bytes'), contentType: 'text/plain', routingKey: 'legacy.created' },
];

/**
 * Scenario for `MessagePublisher` on one broker: publish {@link RAW_MESSAGES}
 * to `endpoint` (resolves only once confirmed), then `read` them back with the
 * plain driver: bodies, caller-chosen headers, content type and (where the
 * broker carries them) the key and routing key arrive as given.
 */
export async function messagePublisherScenario(
  transport: Transport,
  endpoint: string,
  read: (count: number) => Promise<readonly RawRead[]>,
  carries: { readonly key: boolean; readonly routingKey: boolean },
): Promise<void> {
  await new MessagePublisher(transport).publish(endpoint, RAW_MESSAGES);
  // Found by content, not by position: a broker may deliver them from different partitions in either order.
  const read2 = await read(2);
  const json = read2.find((message) => message.body.startsWith('{'));
  const bytes = read2.find((message) => message.body === 'plain bytes');
  expect(JSON.parse(json?.body ?? 'null')).toEqual({ legacyId: 7, note: 'héllo ✓' });
  expect(json?.headers).toMatchObject({ tenantId: 'acme', 'trace.id': 't-1', 'content-type': 'application/json' });
  expect(bytes?.body).toBe('plain bytes');
  expect(bytes?.headers['content-type']).toBe('text/plain');
  if (carries.key) expect(json?.key).toBe('customer-7');
  if (carries.routingKey) expect(json?.routingKey).toBe('legacy.created');
}
