import { alternate, type BenchArgs, type BenchLine, benchLine, DEFAULT_ROUNDS } from '../bench-line.js';
import { runFramework } from '../framework-run.js';
import { rawSqsBaseline } from '../raw/sqs.js';
import { startSqsEmulator } from '../servers.js';

/**
 * SQS on the fauxqs emulator (its own process, 127.0.0.1): the framework's
 * services against the raw SDK doing SendMessageBatch / ReceiveMessage /
 * DeleteMessageBatch with batches of 10 on the same emulator. Target: ratio ≥ 0.85.
 */
export async function benchSqs(args: BenchArgs): Promise<BenchLine> {
  const messages = args.messages ?? 5_000;
  const emulator = await startSqsEmulator();
  try {
    const endpoint = `http://${emulator.address}`;
    const frameworkRun = (n: number, suffix: string) =>
      runFramework({
        url: `sqs://${emulator.address}?region=us-east-1&waitTimeSeconds=1&receivers=8`,
        consumerInWorker: true,
        messages: n,
        window: args.window ?? 500,
        concurrency: args.concurrency ?? 64,
        runId: `${args.runId}-${suffix}`,
      });
    // Warm both sides first (JIT, connections, queue creation), so neither pays for running first.
    // The AWS SDK is large and is still being optimized after thousands of calls: two full-size runs
    // each (the framework's in both of its threads, the raw in the main thread).
    for (let warm = 0; warm < 2; warm++) {
      await frameworkRun(messages, `warm${warm}`);
      await rawSqsBaseline({ endpoint, messages });
    }
    const { framework, raw, rounds } = await alternate(
      args.rounds ?? DEFAULT_ROUNDS,
      (round) => frameworkRun(messages, `main${round}`),
      () => rawSqsBaseline({ endpoint, messages }),
    );
    return benchLine('sqs', messages, framework, raw, { rounds });
  } finally {
    await emulator.stop();
  }
}
