import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type ChannelStats, ErrorCode } from '@switchyard/core/transport';
import { wrapError } from './errors.js';
import type { QueueDirectory } from './queue-directory.js';

/** The {@link ChannelStats} fields the SQS transport fills. */
export const SQS_CHANNEL_STATS = ['depth', 'inFlight'] as const;

/**
 * What SQS reports about each channel's queue, one GetQueueAttributes call per
 * channel (in parallel): `depth` is ApproximateNumberOfMessages (visible,
 * waiting), `inFlight` ApproximateNumberOfMessagesNotVisible (received, not
 * yet deleted). Both are SQS's approximations: they trail the truth by up to
 * a minute on AWS. Delayed messages (ApproximateNumberOfMessagesDelayed) are
 * not counted; consumers are not known to SQS. A channel whose queue does not
 * exist reports zeros; nothing is created. Read-only.
 */
export async function readChannelStats(
  sqs: SQSClient,
  queues: QueueDirectory,
  channels: readonly string[],
): Promise<ChannelStats[]> {
  return Promise.all(
    channels.map(async (channel): Promise<ChannelStats> => {
      const queue = await queues.find(channel);
      if (queue === undefined) return { channel, depth: 0, inFlight: 0 };
      try {
        const out = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: queue.url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        return {
          channel,
          depth: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
          inFlight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
        };
      } catch (error) {
        throw wrapError(ErrorCode.TransportUnavailable, `read the attributes of queue '${queue.name}'`, error);
      }
    }),
  );
}
