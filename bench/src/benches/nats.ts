import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { alternate, type BenchArgs, type BenchLine, benchLine, DEFAULT_ROUNDS, legacyRaw } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawNatsBaseline } from '../raw/nats.js';

const SERVER = process.env.SWITCHYARD_NATS_SERVER ?? '127.0.0.1:4222';

/**
 * NATS JetStream on 127.0.0.1: the framework's services against the raw
 * client doing the same durable work (JetStream publish awaiting PubAcks with
 * 256 in flight, a durable pull consumer pulling batches of 256 with explicit
 * acks, consumer in its own thread and connection on both sides), in the same
 * run. Target: ratio ≥ 0.9.
 */
export async function benchNats(args: BenchArgs): Promise<BenchLine> {
  const messages = args.messages ?? 30_000;
  const batch = 256;
  const inFlight = 256;
  const prefix = `sybench_${randomBytes(4).toString('hex')}`;
  const url = `nats://${SERVER}?prefix=${prefix}`;
  const frameworkRun = (n: number, suffix: string) =>
    runFramework({
      url,
      consumerInWorker: true,
      messages: n,
      window: args.window ?? 4_000,
      concurrency: args.concurrency ?? 64,
      prefetch: batch,
      runId: `${args.runId}-${suffix}`,
    });
  // By default the raw producer publishes the way the transport does (async, one reply subscription for all
  // PubAcks; see raw/nats.ts); SWITCHYARD_NATS_RAW_PUBLISH=request makes it use the client's js.publish.
  const publish = process.env.SWITCHYARD_NATS_RAW_PUBLISH === 'request' ? 'request' : 'async';
  const raw = () => rawNatsBaseline({ server: SERVER, messages, batch, inFlight, publish });
  try {
    // Warm both sides first (JIT, connections), a full-size run each.
    await frameworkRun(messages, 'warm');
    await raw();
    const {
      framework,
      raw: baseline,
      rounds,
    } = await alternate(
      args.rounds ?? DEFAULT_ROUNDS,
      (round) => frameworkRun(messages, `main${round}`),
      () => legacyRaw(messages, raw),
    );
    return benchLine('nats', 'consumer-worker', messages, framework, baseline, {
      batch,
      in_flight: inFlight,
      raw_publish: publish,
      rounds,
    });
  } finally {
    const nc = await connect({ servers: SERVER });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(prefix).catch(() => {});
    await nc.close();
  }
}
