import { rabbitConformance } from './conformance-suite.js';

// Quorum queues differ where it matters to the SPI: x-delivery-count, declaration arguments, redelivery.
rabbitConformance('quorum');
