import type { ResolvedKafkaOptions } from './options.js';
import { assertTopicName } from './options.js';

/**
 * Physical names of a channel. Channel, delay and group names live in
 * separate namespaces (`ch.`, `delay.`) under the prefix, so no channel name
 * can collide with another channel's delay topic.
 */
export interface ChannelNames {
  /** The channel's own topic: commands, plain messages, nacked redeliveries. */
  readonly topic: string;
  /** Holds delayed messages until due; a forwarder moves them to `topic`. */
  readonly delayTopic: string;
  /** Consumer group reading `topic`. */
  readonly group: string;
  /** Consumer group reading the events topic for this channel. */
  readonly eventsGroup: string;
  /** Consumer group of the delay forwarder. */
  readonly delayGroup: string;
}

/** Names for `channel`; throws ConfigurationError when they are not legal Kafka names. */
export function channelNames(options: ResolvedKafkaOptions, channel: string): ChannelNames {
  const p = options.topicPrefix;
  const names: ChannelNames = {
    topic: `${p}ch.${channel}`,
    delayTopic: `${p}delay.${channel}`,
    group: `${p}ch.${channel}`,
    eventsGroup: `${p}events.${channel}`,
    delayGroup: `${p}delay.${channel}`,
  };
  assertTopicName(names.topic, `channel '${channel}' gives topic`);
  assertTopicName(names.delayTopic, `channel '${channel}' gives delay topic`);
  return names;
}
