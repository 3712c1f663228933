import { rabbitConformance } from './conformance-suite.js';

rabbitConformance('classic');
