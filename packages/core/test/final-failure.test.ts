import { describe, expect, it } from 'vitest';
import { MemoryBroker } from '../src/memory/broker.js';
import { MemoryTransport } from '../src/memory/memory-transport.js';
import { createService } from '../src/service/service.js';
import { discardScenario, stopScenario } from './final-failure-scenario.js';

describe('final-failure strategies (in memory)', () => {
  it('discard: acked and counted, not dead-lettered; the error handler is called', async () => {
    const broker = new MemoryBroker();
    await discardScenario('ff-discard', () => ({ transport: new MemoryTransport({ broker }) }));
  });

  it('stop: consuming stops, the message and those after it stay on the broker', async () => {
    const broker = new MemoryBroker();
    await stopScenario('ff-stop', () => ({ transport: new MemoryTransport({ broker }) }));
  });

  it('an unknown strategy is refused at construction', () => {
    expect(() => createService({ name: 'ff-bad', transport: 'memory://ff', finalFailure: 'retry' as never })).toThrow(
      /finalFailure must be one of deadLetter, discard, stop/,
    );
  });
});
