// Sharding a simulation: contiguous vector ranges, each shard replaying the inferences before its
// range (warm-up) so that its intervals equal the one-process run, and the exact merge of the shards'
// outputs and cycle statistics. Used by local shards (`kiln sim --jobs`) and queue jobs (`--redis`).
import { KilnError } from '../diag/index.ts';
import type { Manifest } from './manifest.ts';
import type { SimStats } from './stats.ts';

/** One harness run: output codes and cycle statistics of `inputs`, on an already built binary. */
export interface ShardRun {
  outputs: number[][];
  stats: SimStats;
  runSeconds: number;
  /** CPU seconds of the simulator process(es): summed over shards, warm-up included. */
  cpuSeconds: number;
}

/** Inferences a shard replays before its range: enough for the pipeline (latency / II) plus two. */
export function warmupInferences(m: Manifest): number {
  const { cyclesPerInference: ii, firstOutputLatency: lat } = m.estimate ?? { cyclesPerInference: 0, firstOutputLatency: 0 };
  return (ii > 0 ? Math.ceil(lat / ii) : 1) + 2;
}

/** Contiguous ranges [start, end) splitting `total` inferences into at most `jobs` shards. */
export function shardRanges(total: number, jobs: number): [number, number][] {
  const n = Math.max(1, Math.min(jobs, total));
  return Array.from({ length: n }, (_, k) => [Math.floor((k * total) / n), Math.floor(((k + 1) * total) / n)] as [number, number]);
}

/** One shard's result: outputs of its own range, and the intervals ending at each of its inferences. */
export interface ShardResult {
  range: [number, number];
  outputs: number[][];
  /** intervals[i]: completion of inference range[0]+i minus that of the one before (shard 0: from i = 1). */
  intervals: number[];
  firstOutputLatency: number;
  /** Cycles of the run after the last inference's completion (the merged `cycles` uses the last shard's). */
  tail: number;
  /** Completion cycle of the shard's first inference (warm-up included); undefined when none finished. */
  firstCompletion?: number;
  /** The interval ending at the last warm-up inference (undefined with fewer than two warm-up inferences). */
  lastWarmInterval?: number;
  runSeconds: number;
  cpuSeconds: number;
}

/** A shard's result from its harness run with `warm` warm-up inferences in front. */
export function shardResult(range: [number, number], warm: number, r: ShardRun): ShardResult {
  const c = r.stats.completion;
  return {
    range,
    outputs: r.outputs.slice(warm),
    intervals: r.stats.intervals.slice(Math.max(0, warm - 1)),
    firstOutputLatency: r.stats.firstOutputLatency,
    tail: r.stats.cycles - (c.at(-1) ?? 0),
    firstCompletion: c[0],
    lastWarmInterval: warm >= 2 ? r.stats.intervals[warm - 2] : undefined,
    runSeconds: r.runSeconds,
    cpuSeconds: r.cpuSeconds,
  };
}

/** Merges shard results (in range order, covering 0..N) into the one-process outputs and statistics. */
export function mergeShards(shards: ShardResult[]): ShardRun {
  const outputs = shards.flatMap((s) => s.outputs);
  const intervals = shards.flatMap((s) => s.intervals);
  const first = shards[0].firstCompletion;
  const completion = first === undefined ? [] : [first];
  for (const d of intervals) completion.push(completion[completion.length - 1] + d);
  const sum = intervals.reduce((a, b) => a + b, 0);
  return {
    outputs,
    stats: {
      inferences: completion.length,
      cycles: (completion.at(-1) ?? 0) + shards[shards.length - 1].tail,
      firstOutputLatency: shards[0].firstOutputLatency,
      completion,
      intervals,
      cyclesPerInference: intervals.length ? sum / intervals.length : NaN,
    },
    runSeconds: Math.max(...shards.map((s) => s.runSeconds)),
    cpuSeconds: shards.reduce((a, s) => a + s.cpuSeconds, 0),
  };
}

/** Describes a shard for error messages: 'shard 2/4 (vectors 50–99)'. */
export function shardName(k: number, n: number, [a, b]: [number, number]): string {
  return `shard ${k + 1}/${n} (vectors ${a}–${b - 1})`;
}

/** Re-throws a shard's error with the shard and its vector range in front of the message (same code). */
export function nameShardError(e: unknown, what: string): never {
  if (e instanceof KilnError) throw new KilnError(e.diagnostics.map((d, i) => (i === 0 ? { ...d, message: `${what}: ${d.message}` } : d)));
  throw e;
}

/** Runs `tasks` with at most `limit` in flight; rejects with the first failure after the running ones end. */
export async function runLimited<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  let failure: { e: unknown } | undefined;
  const lane = async () => {
    while (!failure && next < tasks.length) {
      const i = next++;
      try {
        results[i] = await tasks[i]();
      } catch (e) {
        failure ??= { e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
  if (failure) throw failure.e;
  return results;
}

