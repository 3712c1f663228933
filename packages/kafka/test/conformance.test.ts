import { runTransportConformance } from '@switchyard/testing';
import { kafkaConformance } from './conformance-setup.js';

// Most of the run time is the mock's fixed 3 s wait before the first join of each new consumer group.
runTransportConformance(await kafkaConformance());
