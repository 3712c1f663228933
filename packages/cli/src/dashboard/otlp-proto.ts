import protobuf from 'protobufjs';

/**
 * The part of OTLP's metrics.proto (opentelemetry-proto v1: collector/metrics, metrics, common,
 * resource) that the flow reads, with the upstream field numbers. Fields left out (gauges,
 * histograms, exemplars, …) are skipped by the decoder as unknown fields.
 */
const SCHEMA = {
  nested: {
    ExportMetricsServiceRequest: { fields: { resourceMetrics: { rule: 'repeated', type: 'ResourceMetrics', id: 1 } } },
    ResourceMetrics: {
      fields: {
        resource: { type: 'Resource', id: 1 },
        scopeMetrics: { rule: 'repeated', type: 'ScopeMetrics', id: 2 },
      },
    },
    Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
    ScopeMetrics: { fields: { metrics: { rule: 'repeated', type: 'Metric', id: 2 } } },
    Metric: { fields: { name: { type: 'string', id: 1 }, sum: { type: 'Sum', id: 7 } } },
    Sum: {
      fields: {
        dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 },
        aggregationTemporality: { type: 'int32', id: 2 },
        isMonotonic: { type: 'bool', id: 3 },
      },
    },
    NumberDataPoint: {
      fields: {
        attributes: { rule: 'repeated', type: 'KeyValue', id: 7 },
        startTimeUnixNano: { type: 'fixed64', id: 2 },
        timeUnixNano: { type: 'fixed64', id: 3 },
        asDouble: { type: 'double', id: 4 },
        asInt: { type: 'sfixed64', id: 6 },
      },
    },
    KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
    AnyValue: {
      fields: {
        stringValue: { type: 'string', id: 1 },
        boolValue: { type: 'bool', id: 2 },
        intValue: { type: 'int64', id: 3 },
        doubleValue: { type: 'double', id: 4 },
        arrayValue: { type: 'ArrayValue', id: 5 },
        kvlistValue: { type: 'KeyValueList', id: 6 },
        bytesValue: { type: 'bytes', id: 7 },
      },
    },
    ArrayValue: { fields: { values: { rule: 'repeated', type: 'AnyValue', id: 1 } } },
    KeyValueList: { fields: { values: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
  },
};

const REQUEST = protobuf.Root.fromJSON(SCHEMA).lookupType('ExportMetricsServiceRequest');

/**
 * An OTLP/protobuf `ExportMetricsServiceRequest` (what `@opentelemetry/exporter-metrics-otlp-proto`
 * sends) as the plain object its OTLP/JSON form parses to: lowerCamelCase fields, 64-bit integers
 * as decimal strings, absent fields left out. Throws on bytes that are not a valid message.
 */
export function decodeMetricsRequest(body: Uint8Array): unknown {
  return REQUEST.toObject(REQUEST.decode(body), { longs: String, bytes: String, defaults: false });
}
