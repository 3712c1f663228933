import type { ChannelModel } from 'amqplib';

/** The parts of amqplib's connection internals this relies on (amqplib 0.10 – 2.x). */
interface MuxedConnection {
  readonly stream?: { cork?: () => void; uncork?: () => void };
  readonly muxer?: { _readIncoming?: () => void; syWritesCoalesced?: boolean };
}

/**
 * Make amqplib write the frames it has queued in one socket write. amqplib's
 * multiplexer drains every channel's queued frames in one loop, but writes
 * each message (and each ack) to the socket separately, one system call
 * each: a fifth of the CPU of a busy publisher or consumer. Corking the
 * socket around that loop turns them into one `writev`, sent before the loop
 * returns: nothing is delayed, reordered or held back.
 *
 * Relies on amqplib internals (`connection.muxer._readIncoming`,
 * `connection.stream`); when they are not there (another amqplib version) it
 * changes nothing and returns false. Idempotent per connection.
 */
export function coalesceWrites(model: ChannelModel): boolean {
  const connection = (model as unknown as { connection?: MuxedConnection }).connection;
  const stream = connection?.stream;
  const muxer = connection?.muxer;
  const drain = muxer?._readIncoming;
  if (
    !muxer ||
    typeof drain !== 'function' ||
    typeof stream?.cork !== 'function' ||
    typeof stream.uncork !== 'function'
  )
    return false;
  if (muxer.syWritesCoalesced) return true;
  const cork = stream.cork.bind(stream);
  const uncork = stream.uncork.bind(stream);
  muxer._readIncoming = function readIncomingCorked(this: unknown) {
    cork();
    try {
      drain.call(this);
    } finally {
      uncork();
    }
  };
  muxer.syWritesCoalesced = true;
  return true;
}
