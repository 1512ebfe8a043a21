// Everything `kiln hil` does except opening the link and printing: quantize the input rows with the
// design's input quantizer, stream them through the device, and compare each reply with the integer
// reference executor's output for the same compiled design (the one `kiln sim` checks against).
import { join } from 'node:path';
import { readDataflowJson } from '../dataflow/json.ts';
import { numel } from '../ir/tensor.ts';
import { applyOutputAffine, quantizeInput } from '../lower/host.ts';
import { compareOutputs, referenceOutputs, type Mismatch } from '../sim/check.ts';
import { readManifest } from '../sim/manifest.ts';
import { runVectors, type LinkEvents, type RunnerOptions } from './runner.ts';
import type { DeviceCycles, Transport } from './transport.ts';

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
  /**
   * Clocks from each request's last bit into the board to its response's last bit out, as a
   * simulated board reports them (the protocol carries no cycle counts, so not on hardware).
   */
  deviceCycles?: { perVector: number[]; mean: number; min: number; max: number };
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

/** Each vector's report, matched in order to the sequence number of its successful attempt. */
function matchCycles(reports: readonly DeviceCycles[], seqs: number[]): number[] | undefined {
  const out: number[] = [];
  let i = 0;
  for (const s of seqs) {
    while (i < reports.length && reports[i].seq !== s) i++;
    if (i === reports.length) return undefined;
    out.push(reports[i++].cycles);
  }
  return out;
}

async function deviceCycles(t: Transport, seqs: number[]): Promise<HilSummary['deviceCycles']> {
  if (!t.deviceCycles) return undefined;
  // The reports travel on another pipe than the replies and may trail the last one a little.
  const deadline = performance.now() + 500;
  let perVector = matchCycles(t.deviceCycles, seqs);
  while (!perVector && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    perVector = matchCycles(t.deviceCycles, seqs);
  }
  if (!perVector || perVector.length === 0) return undefined;
  const mean = Math.round((10 * perVector.reduce((a, b) => a + b, 0)) / perVector.length) / 10;
  return { perVector, mean, min: Math.min(...perVector), max: Math.max(...perVector) };
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
    deviceCycles: await deviceCycles(t, run.seqs),
    retries: run.attempts.reduce((a, n) => a + n - 1, 0),
    events: run.events,
    seconds: run.seconds,
    codes: run.outputs,
    floats: run.outputs.map((c) => applyOutputAffine(df.outputAffine[0], c)),
  };
}
