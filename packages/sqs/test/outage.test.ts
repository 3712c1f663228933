import { runTransportConformance, TcpProxy } from '@switchyard/testing';
import { afterAll } from 'vitest';
import { SqsTransport } from '../src/index.js';
import { emulatorConfig, startEmulator, suffix } from './emulator.js';

/**
 * The conformance suite's broker-outage scenario for SQS. fauxqs keeps its
 * queues in memory, so restarting it would lose them: the transports reach it
 * through a TcpProxy of this test instead, and an outage is the proxy cutting
 * every connection (long polls included) and refusing new ones, twice.
 */
const emulator = await startEmulator();
const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(emulator.endpoint).port) });
afterAll(async () => {
  await proxy.close();
  await emulator.stop();
});

const topicName = `sy-outage-${suffix()}`;
const config = () => ({ ...emulatorConfig(emulator), endpoint: `http://${proxy.address}`, topicName });

runTransportConformance({
  name: 'sqs through a proxy',
  only: ['broker-outage'],
  probe: () => new SqsTransport(emulatorConfig(emulator)).ping(),
  createTransport: () => new SqsTransport(config()),
  outage: {
    describe: 'TcpProxy in front of fauxqs: cut + refuse',
    cut: () => {
      // An outage nobody sees would prove nothing: the transports must be connected through the proxy.
      if (proxy.open === 0) throw new Error('no connection goes through the proxy');
      return proxy.refuse();
    },
    restore: () => proxy.restore(),
  },
});
