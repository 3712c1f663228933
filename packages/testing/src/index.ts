export type { ConformanceOptions } from './conformance/options.js';
