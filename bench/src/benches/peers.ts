import {
  type BenchArgs,
  type BenchLine,
  benchLine,
  DEFAULT_ROUNDS,
  loopSide,
  machineNote,
  type Side,
  type SideRun,
} from '../bench-line.js';
import { golevelupProducer } from '../peers/golevelup.js';
import { nestProducer } from '../peers/nest.js';
import { median } from '../request-reply/load.js';
import { type RunResult, round } from '../run-loop.js';
import { PREFETCH, RABBITMQ_URL, rabbitFrameworkRun, rawRabbitRun, WINDOW } from './rabbitmq.js';

/**
 * `npm run bench -- peers`: Switchyard against other Node frameworks over
 * RabbitMQ, in the same run, layout and loop (persistent messages to a
 * durable queue, one publisher confirm awaited per send with up to 256 in
 * flight and at most 1,000 ahead of the consumer, manual acks after handling,
 * prefetch 200), with raw amqplib as the floor:
 *
 * - NestJS microservices (`Transport.RMQ`: `ClientProxy.emit` / `@EventPattern`, ack in the handler);
 * - `@golevelup/nestjs-rabbitmq` (`AmqpConnection.publish` / a subscriber; the library acks after the handler).
 *
 * Switchyard runs in each CloudEvents content mode of `--content-mode`
 * (default both): `binary` (attributes as AMQP headers) and `structured`
 * (the envelope in the JSON body, as NestJS carries its pattern and data).
 * Rounds rotate which side runs first; each side's median round (by msgs/s)
 * is reported. The JSON line keeps binary mode as `framework_*` and gives,
 * per mode, the ratios to NestJS (`<mode>_vs_nestjs_msgs`, `_cpu`: the median
 * of the per-round ratios, listed in `_rounds`) and whether the targets
 * (≥ 1.4× its msgs/s, ≤ 0.7× its CPU per message) hold; the raw sides get the
 * same ratios (`raw_vs_nestjs_msgs`, `raw_bare_vs_nestjs_msgs`, `raw_table_vs_nestjs_msgs` for the bare payload
 * with binary mode's header table alone, …), without targets, and
 * each mode its ratios to raw amqplib writing the same wire form (`<mode>_vs_raw_msgs`, `_cpu`).
 * Where `/proc/stat` exists, each side also reports the machine's busy CPU per message
 * (`<side>_machine_cpu_us_per_msg`: the broker's work on this machine included) and each
 * ratio to NestJS its machine-CPU counterpart (`<side>_vs_nestjs_machine_cpu`).
 */
export async function benchPeers(args: BenchArgs): Promise<BenchLine[]> {
  const messages = args.messages ?? 20_000;
  const window = args.window ?? WINDOW;
  const peerRun = (kind: 'peer-nest' | 'peer-golevelup') => (run: SideRun) => {
    const options = { url: RABBITMQ_URL, queue: `sy-bench-${kind}-${run.tag}`, prefetch: PREFETCH };
    const producer = () => (kind === 'peer-nest' ? nestProducer(options) : golevelupProducer(options));
    return loopSide(run, { kind, options }, producer, window);
  };
  const modes = args.contentModes ?? (['binary', 'structured'] as const);
  const sides: Record<string, Side> = {};
  for (const mode of modes) {
    sides[`switchyard_${mode}`] = (run) => rabbitFrameworkRun(run, window, args.concurrency, mode);
  }
  sides.raw = (run) => rawRabbitRun(run, window);
  // The same driver and loop in the other wire forms: what the form alone costs, next to `raw` (binary mode's table).
  if (modes.includes('structured')) sides.raw_structured = (run) => rawRabbitRun(run, window, 'structured');
  sides.raw_bare = (run) => rawRabbitRun(run, window, 'bare');
  // The bare payload plus binary mode's header table alone: what the table costs, both sides of the socket.
  if (modes.includes('binary')) sides.raw_table = (run) => rawRabbitRun(run, window, 'table');
  sides.nestjs = peerRun('peer-nest');
  sides.golevelup = peerRun('peer-golevelup');
  const names = Object.keys(sides);
  const lines: BenchLine[] = [];
  for (const layout of args.layouts) {
    const tag = `${args.runId}-${layout === 'single-thread' ? 's' : 'w'}`;
    for (const name of names) await (sides[name] as Side)({ layout, messages, tag: `${tag}-${name}-warm` });
    const results: Record<string, RunResult[]> = Object.fromEntries(names.map((name) => [name, []]));
    const rounds = args.rounds ?? DEFAULT_ROUNDS;
    for (let index = 0; index < rounds; index++) {
      const order = names.map((_, i) => names[(i + index) % names.length] as string);
      for (const name of order) {
        const result = await (sides[name] as Side)({ layout, messages, tag: `${tag}-${name}-${index}` });
        (results[name] as RunResult[]).push(result);
        console.log(
          `round ${index + 1} [${layout}] ${name}: ${result.msgsPerSec} msgs/s, ${result.cpuUsPerMsg} µs CPU/msg${machineNote(result)}`,
        );
      }
    }
    const medianRound = (name: string) => {
      const sorted = [...(results[name] as RunResult[])].sort((a, b) => a.msgsPerSec - b.msgsPerSec);
      return sorted[Math.floor((sorted.length - 1) / 2)] as RunResult;
    };
    const m = Object.fromEntries(names.map((name) => [name, medianRound(name)])) as Record<string, RunResult>;
    const sy = m[`switchyard_${modes[0]}`] as RunResult;
    const raw = m.raw as RunResult;
    const extra: Record<string, unknown> = { content_modes: modes };
    // Ratios per round (the two sides ran minutes apart at most, under the same load), then their median:
    // on a shared machine that is steadier than the ratio of two medians.
    const perRound = (name: string, pick: (r: RunResult) => number, base: string) =>
      (results[name] as RunResult[]).map((r, i) =>
        round(pick(r) / pick((results[base] as RunResult[])[i] as RunResult)),
      );
    /** `name` against `base`, per round and as the median of those rounds. */
    const ratios = (name: string, base: string) => {
      const msgsRounds = perRound(name, (r) => r.msgsPerSec, base);
      const cpuRounds = perRound(name, (r) => r.cpuUsPerMsg, base);
      const measured = [...(results[name] as RunResult[]), ...(results[base] as RunResult[])];
      const machine = measured.every((r) => r.machineCpuUsPerMsg !== undefined)
        ? median(perRound(name, (r) => r.machineCpuUsPerMsg as number, base))
        : undefined;
      return { msgs: median(msgsRounds), cpu: median(cpuRounds), machine, msgsRounds, cpuRounds };
    };
    const recordVsNest = (key: string, vs: ReturnType<typeof ratios>) => {
      extra[`${key}_vs_nestjs_msgs`] = vs.msgs;
      extra[`${key}_vs_nestjs_cpu`] = vs.cpu;
      if (vs.machine !== undefined) extra[`${key}_vs_nestjs_machine_cpu`] = vs.machine;
      extra[`${key}_vs_nestjs_msgs_rounds`] = vs.msgsRounds;
      extra[`${key}_vs_nestjs_cpu_rounds`] = vs.cpuRounds;
    };
    for (const mode of modes) {
      const vsNest = ratios(`switchyard_${mode}`, 'nestjs');
      recordVsNest(mode, vsNest);
      extra[`${mode}_nestjs_targets_met`] = vsNest.msgs >= 1.4 && vsNest.cpu <= 0.7;
      console.log(
        `peers [${layout}] switchyard ${mode} vs NestJS (median of per-round ratios): ${vsNest.msgs}× msgs/s, ${vsNest.cpu}× CPU/msg (targets ≥ 1.4×, ≤ 0.7×)${machineRatio(vsNest.machine)}`,
      );
      // Against the same driver writing the same wire form: what the framework adds, whatever the form costs.
      const vsRaw = ratios(`switchyard_${mode}`, mode === 'binary' ? 'raw' : `raw_${mode}`);
      extra[`${mode}_vs_raw_msgs`] = vsRaw.msgs;
      extra[`${mode}_vs_raw_cpu`] = vsRaw.cpu;
      console.log(
        `peers [${layout}] switchyard ${mode} vs raw amqplib writing the same wire (median of per-round ratios): ${vsRaw.msgs}× msgs/s, ${vsRaw.cpu}× CPU/msg`,
      );
    }
    // The raw driver per wire form: the floor each form leaves any client.
    for (const name of names.filter((side) => side.startsWith('raw'))) {
      const vsNest = ratios(name, 'nestjs');
      recordVsNest(name, vsNest);
      console.log(
        `peers [${layout}] ${name} (no framework) vs NestJS: ${vsNest.msgs}× msgs/s, ${vsNest.cpu}× CPU/msg${machineRatio(vsNest.machine)}`,
      );
    }
    for (const name of names) {
      const r = m[name] as RunResult;
      extra[`${name}_msgs_per_s`] = r.msgsPerSec;
      extra[`${name}_cpu_us_per_msg`] = r.cpuUsPerMsg;
      extra[`${name}_p99_ms`] = r.p99Ms;
      if (r.machineCpuUsPerMsg !== undefined) extra[`${name}_machine_cpu_us_per_msg`] = r.machineCpuUsPerMsg;
      extra[`${name}_rounds`] = (results[name] as RunResult[]).map((x) => [
        x.msgsPerSec,
        x.cpuUsPerMsg,
        ...(x.machineCpuUsPerMsg === undefined ? [] : [x.machineCpuUsPerMsg]),
      ]);
    }
    for (const name of names) {
      const r = m[name] as RunResult;
      console.log(
        `peers [${layout}] ${name.padEnd(21)} ${String(r.msgsPerSec).padStart(7)} msgs/s ${String(r.cpuUsPerMsg).padStart(8)} µs CPU/msg${machineNote(r)}`,
      );
    }
    lines.push(
      benchLine('rabbitmq-peers', layout, messages, sy, raw, {
        content_mode: modes[0],
        vs_nestjs_msgs: extra[`${modes[0]}_vs_nestjs_msgs`],
        vs_nestjs_cpu: extra[`${modes[0]}_vs_nestjs_cpu`],
        ...extra,
      }),
    );
  }
  return lines;
}

/** `; machine N×` for a console line, when the ratio was measured. */
function machineRatio(ratio: number | undefined): string {
  return ratio === undefined ? '' : `; machine ${ratio}× CPU/msg (broker included)`;
}
