// Everything `kiln hil` does except opening the link and printing: quantize the input rows with the
// design's input quantizer, stream them through the device, and compare each reply with the integer
// reference executor's output for the same compiled design (the one `kiln sim` checks against).
import { join } from 'node:path';
import { readDataflowJson } from '../codegen/dataflow-json.ts';
import { numel } from '../ir/tensor.ts';
import { applyOutputAffine, quantizeInput } from '../lower/host.ts';
import { compareOutputs, referenceOutputs, type Mismatch } from '../sim/check.ts';
import { readManifest } from '../sim/manifest.ts';
import { runVectors, type LinkEvents, type RunnerOptions } from './runner.ts';
import type { Transport } from './transport.ts';

export interface LatencyStats {
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export interface HilSummary {
  design: string;
  link: string;
  vectors: number;
  outputElements: number;
  /** Output values where the device ≠ the reference executor. */
  mismatches: number;
  mismatchExamples: Mismatch[];
  /** Per-vector round trip (request sent → reply parsed) of the successful attempt. */
  roundTrip: LatencyStats;
  /** Per vector: round trip of the successful attempt (ms) and the attempts it took. */
  roundTripMs: number[];
  attempts: number[];
  retries: number;
  events: LinkEvents;
  seconds: number;
  codes: number[][];
  floats: number[][];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function latencyStats(ms: number[]): LatencyStats {
  const s = [...ms].sort((a, b) => a - b);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    meanMs: r(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)),
    p50Ms: r(percentile(s, 0.5)),
    p95Ms: r(percentile(s, 0.95)),
    maxMs: r(s[s.length - 1] ?? NaN),
  };
}

/** Runs the float input rows of one inference each through the device behind `t`. */
export async function runHil(dir: string, rows: ArrayLike<number>[], t: Transport, opts: RunnerOptions = {}): Promise<HilSummary> {
  const m = readManifest(dir);
  const df = readDataflowJson(join(dir, 'dataflow.json'));
  const outElements = numel(df.streams.get(df.outputs[0])!.shape);
  const inputs = rows.map((row) => quantizeInput(df.inputQuant[0], row));
  const run = await runVectors(t, m, inputs, outElements, opts);
  const reference = referenceOutputs(df, inputs);
  const { mismatches, examples } = compareOutputs(run.outputs, reference);
  return {
    design: dir,
    link: t.name,
    vectors: inputs.length,
    outputElements: outElements,
    mismatches,
    mismatchExamples: examples,
    roundTrip: latencyStats(run.roundTripMs),
    roundTripMs: run.roundTripMs.map((v) => Math.round(v * 1000) / 1000),
    attempts: run.attempts,
    retries: run.attempts.reduce((a, n) => a + n - 1, 0),
    events: run.events,
    seconds: run.seconds,
    codes: run.outputs,
    floats: run.outputs.map((c) => applyOutputAffine(df.outputAffine[0], c)),
  };
}
