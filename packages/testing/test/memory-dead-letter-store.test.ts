import { InMemoryDeadLetterStore } from '@switchyard/core';
import { runDeadLetterStoreConformance } from '../src/index.js';

runDeadLetterStoreConformance('InMemoryDeadLetterStore', {
  open: async () => new InMemoryDeadLetterStore(),
});
