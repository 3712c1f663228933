export { brokerReachable, waitFor } from './broker-gate.js';
export {
  type CollectOptions,
  Collector,
  collect,
  payloadOf,
  type Received,
  runTransportConformance,
  type Scenario,
  ScenarioContext,
  type SettleMode,
  seqOf,
  type TestMessageOptions,
  testEvent,
  testMessage,
  testMessages,
  uniqueName,
} from './conformance/index.js';
export type { ConformanceOptions, OutageControl } from './conformance/options.js';
export { createFlow, Flow, type FlowOptions } from './flow/flow.js';
export { ManualClock } from './flow/manual-clock.js';
export { type DroppedReply, MessageSpy, type SpyEntry } from './flow/message-spy.js';
export {
  type EcotoneRead,
  type EcotoneVector,
  ecotoneReceiveScenario,
  ecotoneSendScenario,
  wireVector,
} from './interop/ecotone.js';
export {
  type ForeignEventSpec,
  type ForeignProducer,
  foreignProducerScenario,
  type Seen,
  switchyardOutput,
} from './interop/foreign-producer.js';
export { messageConsumerScenario, type RawProducer } from './interop/message-consumer.js';
export { messagePublisherScenario, RAW_MESSAGES, type RawRead } from './interop/message-publisher.js';
export { type ReplyChannelSuiteOptions, runReplyChannelSuite } from './replies/reply-channel-suite.js';
export { RETENTION_UNDER_TEST, retentionOnAddScenario } from './stores/dead-letter-retention.js';
export {
  type DeadLetterStoreFactory,
  deadLetterRecord,
  runDeadLetterStoreConformance,
} from './stores/dead-letter-store-conformance.js';
export { type ProxyTarget, TcpProxy } from './tcp-proxy.js';
export { commandThenPatternEvent, type RoundTrip } from './url-round-trip.js';
