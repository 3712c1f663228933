import { ConfigurationError } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { KafkaTransport } from './kafka-transport.js';
import { parseKafkaUrl, transportFromUrl } from './url.js';

describe('kafka URL and options', () => {
  it('parses several brokers and query options', () => {
    expect(parseKafkaUrl('kafka://127.0.0.1:9092,127.0.0.1:9093?clientId=svc&partitions=6&idempotent=false')).toEqual({
      brokers: ['127.0.0.1:9092', '127.0.0.1:9093'],
      clientId: 'svc',
      partitions: 6,
      idempotent: false,
    });
  });

  it('builds a transport without I/O, with the documented capabilities', async () => {
    const transport = transportFromUrl('kafka://127.0.0.1:9092/?topicPrefix=app.');
    expect(transport).toBeInstanceOf(KafkaTransport);
    expect(transport.options.topicPrefix).toBe('app.');
    expect(transport.options.eventsTopic).toBe('app.events');
    expect(transport.capabilities).toMatchObject({
      orderingPerKey: true,
      delayedDelivery: 'native',
      patternFiltering: 'client',
    });
    await transport.close();
    await transport.close();
    await expect(transport.send('x', [])).rejects.toMatchObject({ code: 'SY_CLOSED' });
  });

  it.each([
    ['kafka://', 'not kafka://'],
    ['http://127.0.0.1:9092', 'not kafka://'],
    ['kafka://127.0.0.1', 'not host:port'],
    ['kafka://127.0.0.1:9092?partitions=0', 'partitions must be a positive integer'],
    ['kafka://127.0.0.1:9092?partitions=x', 'not an integer'],
    ['kafka://127.0.0.1:9092?color=red', "unknown URL option 'color'"],
    ['kafka://127.0.0.1:9092?topicPrefix=a/b', 'topicPrefix'],
    ['kafka://127.0.0.1:9092?sessionTimeoutMs=3000&heartbeatIntervalMs=3000', 'heartbeatIntervalMs'],
    ['kafka://127.0.0.1:9092?idempotent=maybe', 'idempotent'],
  ])('rejects %s with a ConfigurationError', (url, says) => {
    expect(() => transportFromUrl(url)).toThrow(ConfigurationError);
    expect(() => transportFromUrl(url)).toThrow(says);
  });

  it('rejects channel names that are not legal topic names', async () => {
    const transport = new KafkaTransport({ brokers: ['127.0.0.1:9092'] });
    await expect(transport.send('bad/name', [])).resolves.toBeUndefined();
    await expect(transport.send('bad/name', [{ id: '1', headers: {}, body: new Uint8Array() }])).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await expect(transport.consume('ok', async () => undefined, { concurrency: 0 })).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    await transport.close();
  });
});
