import { describe, expect, it } from 'vitest';
import { fromEcotoneHeaders, readEcotoneWire, toEcotoneHeaders } from './ecotone.js';

const ecotone = {
  'ecotone.distributed.routingKey': 'order.placed',
  'ecotone.distributed.payloadType': 'event',
  'ecotone.distributed.sourceServiceName': 'php-orders',
  'ecotone.kafka.partition_source_key': 'k',
  routingSlip: 'ecotone.distributed.invoke',
  id: 'e-1',
  timestamp: '1795687201',
  correlationId: 'c-1',
  contentType: 'application/json',
  tenantId: 'acme',
};

describe('Ecotone wire codec', () => {
  it('reads an Ecotone message as CloudEvents attributes, bookkeeping dropped, metadata kept', () => {
    expect(readEcotoneWire(ecotone)).toEqual({
      'ce-specversion': '1.0',
      'ce-id': 'e-1',
      'ce-type': 'order.placed',
      'ce-kind': 'event',
      'ce-source': 'php-orders',
      'ce-time': '2026-11-26T10:00:01.000Z',
      'ce-correlationid': 'c-1',
      'content-type': 'application/json',
      tenantId: 'acme',
    });
  });

  it('drops the Ecotone copies of a message carrying both forms, and leaves other messages as they are', () => {
    const ce = { 'ce-specversion': '1.0', 'ce-id': 'e-1', 'ce-type': 'order.placed', tenantId: 'acme' };
    expect(readEcotoneWire({ ...ce, ...ecotone, 'ce-id': 'e-1' })).toEqual(ce);
    expect(readEcotoneWire(ce)).toBe(ce);
  });

  it('writes what it reads', () => {
    const written = toEcotoneHeaders(fromEcotoneHeaders(ecotone));
    expect(written).toEqual({
      'ecotone.distributed.routingKey': 'order.placed',
      'ecotone.distributed.payloadType': 'event',
      'ecotone.distributed.sourceServiceName': 'php-orders',
      id: 'e-1',
      timestamp: 1795687201,
      correlationId: 'c-1',
      contentType: 'application/json',
    });
  });
});
