// Runs a compiled design in Verilator: integer input codes in, integer output codes and cycle
// statistics out. Builds (or reuses) the simulator, writes the stimulus, runs the harness with the
// output directory as working directory (so `$readmemh` paths relative to it resolve), parses the response.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { fail } from '../diag/index.ts';
import { allows, parseQType, qtypeName } from '../ir/datatype.ts';
import { buildSim, type BuildOptions, type BuildResult } from './build.ts';
import { readManifest, type Manifest } from './manifest.ts';
import type { QueueClient, SimJobData } from './queue.ts';
import { mergeShards, nameShardError, runLimited, shardName, shardRanges, shardResult, warmupInferences, type ShardResult, type ShardRun } from './shard.ts';
import { decodeOutputBeats, encodeStimulus, parseResponse, type Response } from './stimulus.ts';

export interface SimProgress {
  phase: 'build' | 'run';
  message: string;
  /** Inferences finished so far and in total (run phase). */
  done?: number;
  total?: number;
}

export interface SimOptions {
  /** Probability that m_axis_tready is low in a cycle (0 = always ready). */
  backpressure?: number;
  /** Probability that the next input beat is held back for a cycle. */
  gaps?: number;
  seed?: number;
  /** Stop when no stream moved for this many cycles (default: 4 × (II + latency) estimate, at least 10000). */
  watchdogCycles?: number;
  /** Output elements per inference (default output.fold × output.beatsPerInference). */
  outputElements?: number;
  onProgress?: (p: SimProgress) => void;
  build?: BuildOptions;
  /**
   * Simulator processes to shard the inferences over (default 1). Every shard after the first also
   * replays the inferences just before its range (warm-up, outputs dropped) so that the pipeline state,
   * hence every interval, equals the one-process run: outputs and cycle statistics are identical to
   * `jobs: 1` (without back-pressure and gaps, whose random patterns depend on the shard).
   */
  jobs?: number;
  /**
   * Run the shards as jobs on this queue (`kiln worker`s take them) instead of local processes; then
   * `jobs` is the number of shards, all enqueued at once.
   */
  queue?: QueueClient;
  /** More harness arguments: the debug build's --trace, --taps (src/sim/debug.ts). */
  harnessArgs?: string[];
}

import type { SimStats } from './stats.ts';
export type { SimStats };

export interface SimResult {
  outputs: number[][];
  stats: SimStats;
  build: BuildResult;
  /** Wall-clock seconds of the simulation run (without the build). */
  runSeconds: number;
  /** CPU seconds (user + sys) of the simulator processes, summed over shards. */
  cpuSeconds: number;
}

/** Cycle statistics of a response (see the cycle model in the issue-3 contract). */
export function cycleStats(m: Manifest, resp: Response): SimStats {
  const per = m.output.beatsPerInference;
  const completion: number[] = [];
  for (let k = per - 1; k < resp.outCycles.length; k += per) completion.push(resp.outCycles[k]);
  const intervals = completion.slice(1).map((c, i) => c - completion[i]);
  const sum = intervals.reduce((a, b) => a + b, 0);
  return {
    inferences: completion.length,
    cycles: resp.cycles,
    firstOutputLatency: resp.outCycles.length && resp.inCycles.length ? resp.outCycles[0] - resp.inCycles[0] : NaN,
    completion,
    intervals,
    cyclesPerInference: intervals.length ? sum / intervals.length : NaN,
  };
}

function checkInputs(m: Manifest, inputs: number[][]): void {
  const qtype = parseQType(m.input.qtype);
  const per = m.input.fold * m.input.beatsPerInference;
  inputs.forEach((codes, k) => {
    if (codes.length !== per) {
      fail('InputMismatch', `inference ${k} has ${codes.length} input codes, the design takes ${per}`);
    }
    const bad = codes.findIndex((v) => !allows(qtype, v));
    if (bad >= 0) fail('InputMismatch', `input code ${codes[bad]} (inference ${k}, element ${bad}) is not a ${qtypeName(qtype)} value`);
  });
}

function deadlockMessage(resp: Response, m: Manifest, expected: number): string {
  const wd = resp.watchdog!;
  const blocked = wd.streams.filter((s) => s.state === 'blocked').map((s) => s.name);
  const lastMoved = wd.streams.reduce((a, s) => (s.lastMove > a.lastMove ? s : a), wd.streams[0]);
  const outs = resp.outBeats.length;
  return `simulation stalled at cycle ${wd.cycle} with ${outs} of ${expected} output beats: ` +
    (blocked.length ? `stream(s) ${blocked.map((b) => `'${b}'`).join(', ')} blocked (valid=1, ready=0)` : 'no stream is valid') +
    (lastMoved ? `; last movement on '${lastMoved.name}' at cycle ${lastMoved.lastMove}` : '') +
    ` (design ${m.model})`;
}

/** Runs the built simulator `binary` of the design in outDir on `inputs`; `onDone` gets inferences finished. */
export async function runHarness(outDir: string, m: Manifest, binary: string, inputs: number[][], opts: SimOptions, onDone?: (done: number) => void): Promise<ShardRun> {
  const total = inputs.length;
  const expectBeats = total * m.output.beatsPerInference;
  const est = m.estimate ?? { cyclesPerInference: 0, firstOutputLatency: 0 };
  const watchdog = opts.watchdogCycles ?? Math.max(10000, 4 * ((est.cyclesPerInference || 0) + (est.firstOutputLatency || 0)));
  const progressBeats = Math.max(1, Math.ceil(total / 100)) * m.output.beatsPerInference;
  const work = mkdtempSync(join(tmpdir(), 'kiln-sim-'));
  try {
    const stim = join(work, 'stim.txt');
    const resp = join(work, 'resp.txt');
    const names = join(work, 'streams.txt');
    writeFileSync(stim, encodeStimulus(m.input, inputs));
    writeFileSync(names, m.streams.join('\n') + '\n');
    const args = [
      '--in', stim, '--out', resp, '--expect', String(expectBeats), '--streams', names,
      '--backpressure', String(opts.backpressure ?? 0), '--gaps', String(opts.gaps ?? 0),
      '--seed', String(opts.seed ?? 1), '--watchdog', String(watchdog), '--progress', String(progressBeats),
      ...(opts.harnessArgs ?? []),
    ];
    const started = performance.now();
    const sub = execa(binary, args, { cwd: outDir, reject: false });
    let pending = '';
    sub.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        const beats = /^progress (\d+)$/.exec(l);
        if (beats) onDone?.(Math.floor(Number(beats[1]) / m.output.beatsPerInference));
      }
    });
    const r = await sub;
    const runSeconds = (performance.now() - started) / 1000;
    if (r.exitCode !== 0 && r.exitCode !== 3 && r.exitCode !== 4) {
      fail('ToolFailed', `the simulator of ${outDir} failed (exit ${r.exitCode}): ${`${r.stderr}`.trim().split('\n').slice(0, 5).join('; ')}`);
    }
    const response = parseResponse(readFileSync(resp, 'utf8'));
    if (response.watchdog) fail('SimDeadlock', deadlockMessage(response, m, expectBeats));
    if (response.cycleLimit !== undefined) fail('SimDeadlock', `simulation reached its cycle limit (${response.cycleLimit})`);
    const numel = opts.outputElements ?? m.output.fold * m.output.beatsPerInference;
    return { outputs: decodeOutputBeats(m.output, response.outBeats, numel), stats: cycleStats(m, response), runSeconds, cpuSeconds: response.cpuSeconds };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The default number of simulator processes: the machine's cores. */
export const defaultJobs = (): number => availableParallelism();

/** Simulates `inputs` (one array of input codes per inference) on the design compiled into outDir. */
export async function simulate(outDir: string, inputs: number[][], opts: SimOptions = {}): Promise<SimResult> {
  const m = readManifest(outDir);
  checkInputs(m, inputs);
  const queue = opts.queue;
  // Through a queue the workers build (or reuse) the binary; the result names the design's hash.
  const build: BuildResult = queue
    ? { binary: '', cached: true, seconds: 0, key: await queue.uploadDesign(outDir) }
    : await buildSim(outDir, { ...opts.build, onProgress: (p) => opts.onProgress?.({ phase: 'build', message: p.message }) });
  const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  const total = inputs.length;
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) fail('BadArgument', `jobs must be a positive integer, not ${jobs}`);
  opts.onProgress?.({ phase: 'run', message: 'simulating', done: 0, total });
  const ranges = shardRanges(total, jobs);
  // One progress count over all shards: each shard reports the inferences of its own range finished.
  const done = ranges.map(() => 0);
  const warmup = warmupInferences(m);
  const report = (k: number, warm: number) => (d: number) => {
    done[k] = Math.max(0, Math.min(d - warm, ranges[k][1] - ranges[k][0]));
    opts.onProgress?.({ phase: 'run', message: 'simulating', done: done.reduce((a, b) => a + b, 0), total });
  };
  const runShard = async (k: number, warm: number): Promise<ShardResult> => {
    const [a, b] = ranges[k];
    try {
      if (queue) {
        const data: SimJobData = {
          kind: 'sim', design: build.key, range: [a, b], warm, inputs: inputs.slice(a - warm, b),
          opts: { backpressure: opts.backpressure, gaps: opts.gaps, seed: opts.seed, watchdogCycles: opts.watchdogCycles, outputElements: opts.outputElements },
        };
        const onDone = report(k, 0);
        return await queue.run<ShardResult>(`sim-${build.key.slice(0, 16)}-${runId}-${k}-w${warm}`, data, `vectors ${a}–${b - 1}`, onDone);
      }
      return shardResult([a, b], warm, await runHarness(outDir, m, build.binary, inputs.slice(a - warm, b), opts, report(k, warm)));
    } catch (e) {
      return ranges.length > 1 ? nameShardError(e, shardName(k, ranges.length, [a, b])) : Promise.reject(e);
    }
  };
  const shards = await runLimited(ranges.map(([a], k) => () => runShard(k, Math.min(a, warmup))), queue ? ranges.length : jobs);
  // The warm-up converged when its last interval equals the one the previous shard measured there;
  // otherwise (a pipeline deeper than the estimate says) replay more of the prefix.
  for (let k = 1; k < shards.length; k++) {
    let warm = Math.min(ranges[k][0], warmup);
    while (warm < ranges[k][0] && shards[k].lastWarmInterval !== shards[k - 1].intervals.at(-1)) {
      warm = Math.min(ranges[k][0], 2 * warm);
      shards[k] = await runShard(k, warm);
    }
  }
  opts.onProgress?.({ phase: 'run', message: 'simulated', done: total, total });
  return { ...mergeShards(shards), build };
}
