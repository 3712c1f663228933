import { afterEach, describe, expect, it, vi } from 'vitest';
import { optionsFromUrl, transportFromUrl } from './url.js';

describe('optionsFromUrl', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('sqs:// alone means real AWS from the SDK chain', () => {
    expect(optionsFromUrl('sqs://')).toEqual({});
  });

  it('a host becomes the endpoint; loopback gets emulator credentials when the env has none', () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined as unknown as string);
    expect(optionsFromUrl('sqs://127.0.0.1:4566?region=eu-west-1')).toEqual({
      endpoint: 'http://127.0.0.1:4566',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    expect(optionsFromUrl('sqss://sqs.example.com').endpoint).toBe('https://sqs.example.com');
    expect(optionsFromUrl('sqss://sqs.example.com').credentials).toBeUndefined();
  });

  it('reads the other query parameters', () => {
    const options = optionsFromUrl(
      'sqs://localhost:1?prefix=p-&topic=t&fanout=direct&fifo=true&waitTimeSeconds=2&visibilityTimeoutSeconds=9&receivers=4&accessKeyId=a&secretAccessKey=b',
    );
    expect(options).toMatchObject({
      queuePrefix: 'p-',
      topicName: 't',
      fanout: 'direct',
      fifo: true,
      waitTimeSeconds: 2,
      visibilityTimeoutSeconds: 9,
      receivers: 4,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
  });

  it('rejects other schemes and bad values with a ConfigurationError', () => {
    expect(() => optionsFromUrl('amqp://x')).toThrow(/not an sqs:\/\//);
    expect(() => optionsFromUrl('sqs://h?fanout=kafka')).toThrow(/fanout/);
    expect(() => transportFromUrl('sqs://h?waitTimeSeconds=99')).toThrow(/waitTimeSeconds/);
    expect(() => transportFromUrl('sqs://h?receivers=0')).toThrow(/'receivers' must be an integer from 1 to 10/);
    expect(() => transportFromUrl('sqs://h?receivers=11')).toThrow(/receivers/);
  });

  it('transportFromUrl builds a transport without I/O', async () => {
    const transport = transportFromUrl('sqs://127.0.0.1:1?fifo=true');
    expect(transport.capabilities.orderingPerKey).toBe(true);
    expect(transport.capabilities.delayedDelivery).toBe('emulated');
    await transport.close();
  });
});
