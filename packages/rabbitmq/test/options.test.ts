import { ConfigurationError, ErrorCode } from '@switchyard/core/transport';
import { describe, expect, it } from 'vitest';
import { RabbitMqTransport, transportFromUrl } from '../src/index.js';
import { message } from './helpers.js';

describe('RabbitMqTransport options', () => {
  it('rejects bad options at construction with a ConfigurationError', () => {
    expect(() => new RabbitMqTransport({ url: 'http://127.0.0.1' })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ url: 'not a url' })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ prefetch: 0 })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ exchange: 'amq.topic' })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ queueType: 'stream' as 'quorum' })).toThrow(ConfigurationError);
    expect(() => new RabbitMqTransport({ contentMode: 'text' as 'binary' })).toThrow(
      /contentMode must be 'binary' or 'structured'/,
    );
    expect(() => new RabbitMqTransport({ reconnect: { initialDelayMs: 500, maxDelayMs: 100 } })).toThrow(
      ConfigurationError,
    );
  });

  it('builds a transport from a URL and takes its own query parameters', () => {
    const transport = transportFromUrl('amqps://u:p@broker:5671/vh?exchange=shop&queueType=quorum&heartbeat=5');
    expect(transport.exchange).toBe('shop');
    expect(() => transportFromUrl('redis://127.0.0.1')).toThrow(ConfigurationError);
    expect(() => transportFromUrl('amqp://h/?prefetch=many')).toThrow(ConfigurationError);
    expect(() => transportFromUrl('amqp://h/?contentMode=structured')).not.toThrow();
    expect(() => transportFromUrl('amqp://h/?contentMode=text')).toThrow(/contentMode must be/);
  });

  it("is what core's transportFromUrl builds for amqp:// and amqps:// URLs", async () => {
    const { transportFromUrl: coreFromUrl } = await import('@switchyard/core');
    const transport = await coreFromUrl('amqp://127.0.0.1:5672/?exchange=via-core');
    expect(transport).toBeInstanceOf(RabbitMqTransport);
    expect((transport as RabbitMqTransport).exchange).toBe('via-core');
    await transport.close();
  });

  it('rejects a ping to an unreachable broker with SY_TRANSPORT_UNAVAILABLE', async () => {
    const transport = new RabbitMqTransport({ url: 'amqp://127.0.0.1:1', operationTimeoutMs: 300 });
    await expect(transport.ping()).rejects.toMatchObject({ code: ErrorCode.TransportUnavailable });
    await transport.close();
  });

  it('rejects a send with SY_SEND_FAILED once the broker stayed away for operationTimeoutMs', async () => {
    const transport = new RabbitMqTransport({ url: 'amqp://127.0.0.1:1', operationTimeoutMs: 300 });
    const started = Date.now();
    await expect(transport.send('somewhere', [message({ n: 1 })])).rejects.toMatchObject({
      code: ErrorCode.SendFailed,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await transport.close();
  });
});
