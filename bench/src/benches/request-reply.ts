import { createService, defineQuery, InMemoryDeadLetterStore, type Service, type Transport } from '@switchyard/core';
import { MemoryBroker, MemoryTransport } from '@switchyard/core/memory';
import { RabbitMqTransport } from '@switchyard/rabbitmq';
import { z } from 'zod';
import type { BenchArgs, BenchLine } from '../bench-line.js';
import {
  type Call,
  median,
  type PacedLatency,
  pacedLatency,
  pacedRequests,
  round,
  type ThroughputRun,
  throughput,
} from '../request-reply/load.js';
import { startNestPair } from '../request-reply/nest.js';

const URL = process.env.SWITCHYARD_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Rounds when `--rounds` is not given: each round is a throughput run and two paced runs per contender. */
const DEFAULT_REQUEST_REPLY_ROUNDS = 3;

const Sum = defineQuery('bench.sum', z.object({ a: z.number(), b: z.number() }), z.object({ total: z.number() }));

/** A caller and a replier that answers `bench.sum`; `close` ends both. */
interface Pair {
  readonly call: Call;
  close(): Promise<void>;
}

/** A caller service and a replier service, each on its own transport (as two processes would be), in this process. */
async function switchyardPair(runId: string, transport: () => Transport, concurrency: number): Promise<Pair> {
  const services: Service[] = [];
  // A service does not close a transport it was handed: the pair does, after the services stopped.
  const transports: Transport[] = [];
  const make = (name: string) => {
    const own = transport();
    transports.push(own);
    const service = createService({
      name,
      transport: own,
      handleSignals: false,
      deadLetters: new InMemoryDeadLetterStore(),
      concurrency,
      telemetry: false,
    });
    services.push(service);
    return service;
  };
  const caller = make(`bench-rr-caller-${runId}`);
  const replier = make(`bench-rr-replier-${runId}`);
  replier.handle(Sum, (query) => ({ total: query.a + query.b }), { distributed: true });
  for (const service of services) await service.start();
  return {
    call: (n) => caller.distributedBus.request(replier.name, Sum, { a: n, b: 1 }, { timeoutMs: 60_000 }),
    close: async () => {
      await Promise.all(services.map((service) => service.stop()));
      await Promise.all(transports.map((own) => own.close()));
    },
  };
}

/** Latency at one offered rate over the rounds: median p50 and p99, and each round's. */
interface LatencySummary extends PacedLatency {
  readonly rounds: readonly { readonly p50Ms: number; readonly p99Ms: number }[];
}

/** What one contender measured over all rounds (medians, with each round's figures). */
interface ContenderResult {
  readonly requestsPerSec: number;
  readonly cpuUsPerRequest: number;
  readonly throughputRounds: readonly ThroughputRun[];
  /** At half of the slower contender's peak: the same offered rate for everyone compared. */
  readonly atCommonRate?: LatencySummary;
  /** At half of its own peak. */
  readonly atOwnHalfRate: LatencySummary;
}

class Contender {
  readonly throughputRuns: ThroughputRun[] = [];
  readonly paced = new Map<'common' | 'own', PacedLatency[]>([
    ['common', []],
    ['own', []],
  ]);

  constructor(
    readonly label: string,
    readonly pair: Pair,
  ) {}

  get peak(): number {
    return median(this.throughputRuns.map((run) => run.requestsPerSec));
  }

  result(): ContenderResult {
    const summary = (runs: readonly PacedLatency[]): LatencySummary => ({
      ratePerSec: runs[0]?.ratePerSec ?? 0,
      p50Ms: median(runs.map((run) => run.p50Ms)),
      p99Ms: median(runs.map((run) => run.p99Ms)),
      rounds: runs.map(({ p50Ms, p99Ms }) => ({ p50Ms, p99Ms })),
    });
    const common = this.paced.get('common') ?? [];
    return {
      requestsPerSec: this.peak,
      cpuUsPerRequest: median(this.throughputRuns.map((run) => run.cpuUsPerRequest)),
      throughputRounds: this.throughputRuns,
      ...(common.length > 0 ? { atCommonRate: summary(common) } : {}),
      atOwnHalfRate: summary(this.paced.get('own') ?? []),
    };
  }
}

/**
 * Every contender's peak (closed loop, `inFlight` outstanding) in `rounds`
 * rounds, then its latency at the common rate — half of the slowest
 * contender's median peak — and at half of its own, in `rounds` rounds; the
 * order of the contenders rotates from round to round.
 */
async function compare(
  contenders: readonly Contender[],
  options: { requests: number; inFlight: number; rounds: number },
): Promise<number> {
  const { requests, inFlight, rounds } = options;
  const rotated = (round: number) => contenders.map((_, i) => contenders[(i + round) % contenders.length] as Contender);
  for (const contender of contenders) await throughput(contender.pair.call, Math.min(5_000, requests), inFlight); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const contender of rotated(r)) {
      const run = await throughput(contender.pair.call, requests, inFlight);
      contender.throughputRuns.push(run);
      console.log(
        `  round ${r + 1} ${contender.label}: ${run.requestsPerSec} req/s, ${run.cpuUsPerRequest} µs CPU/req`,
      );
    }
  }
  const commonRate = Math.max(1, Math.round(Math.min(...contenders.map((c) => c.peak)) / 2));
  for (let r = 0; r < rounds; r++) {
    for (const contender of rotated(r)) {
      const ownRate = Math.max(1, Math.round(contender.peak / 2));
      const rates: ['common' | 'own', number][] =
        contenders.length > 1
          ? [
              ['common', commonRate],
              ['own', ownRate],
            ]
          : [['own', ownRate]];
      for (const [kind, rate] of rates) {
        const paced = await pacedLatency(contender.pair.call, pacedRequests(rate, requests), rate);
        contender.paced.get(kind)?.push(paced);
        console.log(
          `  round ${r + 1} ${contender.label} at ${rate}/s (${kind}): p50 ${paced.p50Ms} ms, p99 ${paced.p99Ms} ms`,
        );
      }
    }
  }
  return commonRate;
}

async function withPairs<T>(open: readonly (() => Promise<Pair>)[], run: (pairs: Pair[]) => Promise<T>): Promise<T> {
  const pairs: Pair[] = [];
  try {
    for (const make of open) pairs.push(await make());
    return await run(pairs);
  } finally {
    await Promise.all(pairs.map((pair) => pair.close()));
  }
}

/**
 * `npm run bench -- request-reply`: Switchyard's `distributedBus.request` on
 * the in-memory transport and on RabbitMQ, and NestJS microservices
 * `client.send()` over RabbitMQ, in the same run and the same layout: one
 * caller and one replier in this process, each with its own connection; a
 * durable request queue; the replier acks after its handler. Peak with 64
 * requests in flight (`--concurrency`), then p50/p99 of both RabbitMQ
 * contenders at the same offered rate (half of the slower one's peak) and at
 * half of each one's own peak, over `--rounds` rounds (default 3; medians
 * reported, each round's figures in the line).
 */
export async function benchRequestReply(args: BenchArgs): Promise<BenchLine> {
  const requests = args.messages ?? 20_000;
  const inFlight = args.concurrency ?? 64;
  const rounds = args.rounds ?? DEFAULT_REQUEST_REPLY_ROUNDS;
  const options = { requests, inFlight, rounds };
  const broker = new MemoryBroker();
  const memory = await withPairs(
    [() => switchyardPair(`${args.runId}-mem`, () => new MemoryTransport({ broker }), inFlight)],
    async ([pair]) => {
      const contender = new Contender('switchyard memory', pair as Pair);
      await compare([contender], options);
      return contender.result();
    },
  );
  const rabbit = (): Transport => new RabbitMqTransport({ url: URL });
  const { switchyard, nest, commonRate } = await withPairs(
    [
      () => switchyardPair(`${args.runId}-amqp`, rabbit, inFlight),
      () => startNestPair(URL, `bench-rr-nest-${args.runId}`, inFlight),
    ],
    async ([sy, ne]) => {
      const contenders = [
        new Contender('switchyard rabbitmq', sy as Pair),
        new Contender('nestjs rabbitmq', ne as Pair),
      ];
      const commonRate = await compare(contenders, options);
      const [switchyard, nest] = contenders.map((c) => c.result()) as [ContenderResult, ContenderResult];
      return { switchyard, nest, commonRate };
    },
  );
  const syCommon = switchyard.atCommonRate as LatencySummary;
  const nestCommon = nest.atCommonRate as LatencySummary;
  for (const [label, result] of [
    ['switchyard memory', memory],
    ['switchyard rabbitmq', switchyard],
    ['nestjs rabbitmq', nest],
  ] as const) {
    const common = result.atCommonRate
      ? `; at ${commonRate}/s: p50 ${result.atCommonRate.p50Ms} ms, p99 ${result.atCommonRate.p99Ms} ms`
      : '';
    console.log(
      `${label}: ${result.requestsPerSec} requests/s with ${inFlight} in flight, ${result.cpuUsPerRequest} µs CPU/request${common}; at own half ${result.atOwnHalfRate.ratePerSec}/s: p50 ${result.atOwnHalfRate.p50Ms} ms, p99 ${result.atOwnHalfRate.p99Ms} ms (medians of ${rounds})`,
    );
  }
  return {
    transport: 'request-reply',
    // Caller and replier in this process, each with its own connection, for every contender.
    layout: 'single-thread',
    messages: requests,
    rounds,
    in_flight: inFlight,
    framework_msgs_per_s: switchyard.requestsPerSec,
    raw_msgs_per_s: nest.requestsPerSec,
    ratio: round(switchyard.requestsPerSec / nest.requestsPerSec),
    ratio_of: 'switchyard rabbitmq / nestjs rabbitmq',
    // Latency of both at the same offered rate: half of the slower one's median peak.
    common_rate_per_s: commonRate,
    p50_ms: syCommon.p50Ms,
    p99_ms: syCommon.p99Ms,
    raw_p50_ms: nestCommon.p50Ms,
    raw_p99_ms: nestCommon.p99Ms,
    cpu_us_per_msg: switchyard.cpuUsPerRequest,
    raw_cpu_us_per_msg: nest.cpuUsPerRequest,
    rabbitmq_throughput_ratio_vs_nest: round(switchyard.requestsPerSec / nest.requestsPerSec),
    rabbitmq_p99_ratio_vs_nest_common_rate: round(syCommon.p99Ms / nestCommon.p99Ms),
    rabbitmq_p99_ratio_vs_nest_own_half_rate: round(switchyard.atOwnHalfRate.p99Ms / nest.atOwnHalfRate.p99Ms),
    rabbitmq_cpu_ratio_vs_nest: round(switchyard.cpuUsPerRequest / nest.cpuUsPerRequest),
    switchyard_memory: memory,
    switchyard_rabbitmq: switchyard,
    nestjs_rabbitmq: nest,
  };
}
