import { type BenchArgs, type BenchLine, compareLayouts, loopSide, type SideRun } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawSqsProducer } from '../raw/sqs.js';
import { startSqsEmulator } from '../servers.js';

/** The raw consumer's shape: 8 receive loops of 10, at most 8 × 10 messages awaiting their delete (raw/sqs.ts). */
const RECEIVERS = 8;
const BATCH = 10;

/**
 * SQS on the fauxqs emulator (its own process, 127.0.0.1): the framework's
 * services against the raw SDK in the same layout and loop
 * (SendMessageBatch / ReceiveMessage / DeleteMessageBatch with batches of 10,
 * 8 send calls in flight, 8 receive loops). The framework's prefetch is
 * 8 × 10, what the raw loops hold at most received and not yet handled; both
 * sides let at most as many more wait for their delete without waiting for
 * it themselves (the transport frees a handler slot once the delete is handed
 * to its batcher). Concurrency is 8 × 10 too: the raw loops handle a whole
 * batch at once.
 * Two full-size warm-ups per side (the SDK keeps getting faster for thousands
 * of calls). Target: ratio ≥ 0.85.
 */
export async function benchSqs(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 5_000;
  const window = args.window ?? 500;
  const emulator = await startSqsEmulator();
  try {
    const endpoint = `http://${emulator.address}`;
    const framework = (run: SideRun) =>
      runFramework({
        url: `sqs://${emulator.address}?region=us-east-1&waitTimeSeconds=1&receivers=8`,
        layout: run.layout,
        messages: run.messages,
        window,
        concurrency: args.concurrency ?? RECEIVERS * BATCH,
        prefetch: RECEIVERS * BATCH,
        runId: run.tag,
        ...(run.ratePerSec ? { ratePerSec: run.ratePerSec } : {}),
      });
    const raw = (run: SideRun) => {
      const options = { endpoint, queue: `sy-bench-raw-${run.tag}` };
      return loopSide(run, { kind: 'raw-sqs', options }, () => rawSqsProducer(options), window);
    };
    return await compareLayouts(
      'sqs',
      args,
      { framework, raw },
      { messages, warm: 2, halfLoad: true, extra: { window } },
    );
  } finally {
    await emulator.stop();
  }
}
