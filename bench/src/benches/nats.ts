import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { type BenchArgs, type BenchLine, compareLayouts, loopSide, type SideRun } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { type RawNatsOptions, rawNatsProducer } from '../raw/nats.js';

const SERVER = process.env.SWITCHYARD_NATS_SERVER ?? '127.0.0.1:4222';

/**
 * NATS JetStream on 127.0.0.1: the framework's services against the raw
 * client doing the same durable work in the same layout and loop (JetStream
 * publish of one message per send awaiting its PubAck, up to 256 sends in
 * flight and at most `window` ahead of the consumer; a durable pull consumer
 * pulling batches of 256 with explicit acks), then both at half of the
 * framework's peak rate. Target: ratio ≥ 0.9.
 */
export async function benchNats(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 30_000;
  const batch = 256;
  const window = args.window ?? 4_000;
  const prefix = `sybench_${randomBytes(4).toString('hex')}`;
  const url = `nats://${SERVER}?prefix=${prefix}`;
  // By default the raw producer publishes the way the transport does (async, one reply subscription for all
  // PubAcks; see raw/nats.ts); SWITCHYARD_NATS_RAW_PUBLISH=request makes it use the client's js.publish.
  const publish = process.env.SWITCHYARD_NATS_RAW_PUBLISH === 'request' ? 'request' : 'async';
  const framework = (run: SideRun) =>
    runFramework({
      url,
      layout: run.layout,
      messages: run.messages,
      window,
      concurrency: args.concurrency ?? 64,
      prefetch: batch,
      runId: run.tag,
      ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
    });
  const raw = (run: SideRun) => {
    // A stream name holds no '.', '*' or '>' (a load run's tag has a '.').
    const stream = `sybench_raw_${run.tag.replaceAll('.', '_')}`;
    const options: RawNatsOptions = { server: SERVER, stream, batch, publish };
    return loopSide(run, { kind: 'raw-nats', options }, () => rawNatsProducer(options), window);
  };
  try {
    return await compareLayouts(
      'nats',
      args,
      { framework, raw },
      { messages, halfLoad: true, extra: { batch, window, raw_publish: publish } },
    );
  } finally {
    const nc = await connect({ servers: SERVER });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(prefix).catch(() => {});
    await nc.close();
  }
}
