import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { runTransportConformance } from '@switchyard/testing';

// One broker per test file stands for "the broker"; each transport is one process connected to it.
const broker = new MemoryBroker();
const live = new Set<MemoryTransport>();

runTransportConformance({
  name: 'memory',
  createTransport() {
    const transport = new MemoryTransport({ broker, drainTimeoutMs: 5_000 });
    live.add(transport);
    return transport;
  },
  async dropConnections() {
    for (const transport of live) {
      transport.dropConnection();
      // A send racing the drop fails, as on a real broker; the suite must resend it.
      transport.failSends(1);
    }
  },
});
