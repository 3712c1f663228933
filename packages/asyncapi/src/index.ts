/**
 * `@switchyard/asyncapi`: contracts as the source of truth. `toAsyncApi`
 * describes services as an AsyncAPI 3.0 document; `exportContracts` and
 * `diffContracts` turn contracts into JSON Schemas and say whether a change
 * between two exports breaks consumers or producers. A package of its own so
 * that core does not carry a YAML writer or JSON Schema converters.
 */

export { assertContractsCompatible, IncompatibleContractsError } from './assert.js';
export {
  CONTRACTS_FORMAT,
  type ContractsFile,
  type ExportedContract,
  exportContracts,
  parseContractsFile,
} from './contracts-file.js';
export { type ChangeRule, type ContractChange, type ContractsDiff, diffContracts, type Side } from './diff.js';
export { type AsyncApiDocument, type AsyncApiOptions, toAsyncApi } from './document.js';
export { CLOUD_EVENTS_HEADERS } from './headers.js';
export { contractJsonSchema, type JsonSchema, SchemaConversionError } from './json-schema.js';
export { type ResolvedSend, resolveSends, type SendDeclaration } from './senders.js';
export {
  describeTransport,
  type Placement,
  type ServerDescription,
  snsTopicName,
  sqsQueueName,
  type TransportDescription,
} from './transports.js';
export { toYaml } from './yaml.js';
