// The issue-4 check of one compiled design, shared by the CNN end-to-end tests: RTL == integer
// reference under back-pressure, then the cycle model on a stall-free run; the serial folding they compare against.
import { expect } from 'vitest';
import type { DataflowGraph } from '../../src/ir/dataflow.ts';
import { defaultFolding, type Folding } from '../../src/dataflow/fold.ts';
import { simulateAndCompare, type CheckResult } from '../../src/sim/check.ts';
import { simulate } from '../../src/sim/simulate.ts';

export interface DesignCheckOptions {
  seed: number;
  /** Inferences in the stall-free run. */
  free?: number;
  /** Completion intervals the pipeline takes to settle (1: only the first, the fill, differs). */
  settle?: number;
}

export interface DesignCheck {
  checked: CheckResult;
  intervals: number[];
  latency: number;
}

/**
 * RTL == reference on every input (back-pressure 0.3, input gaps 0.1), then a stall-free run: every
 * interval after the first `settle` equals the estimated cycles per inference exactly (at least 4 of
 * them); the settling intervals and the first-output latency are within 5 % of the estimate.
 */
export async function checkDesign(dir: string, df: DataflowGraph, inputs: number[][], estimate: { cyclesPerInference: number; firstOutputLatency: number }, opts: DesignCheckOptions): Promise<DesignCheck> {
  const { seed, settle = 1 } = opts;
  const free = opts.free ?? settle + 5;
  const checked = await simulateAndCompare(dir, df, inputs, { backpressure: 0.3, gaps: 0.1, seed });
  expect(checked.outputs.length).toBe(inputs.length);
  expect(checked.mismatches, `first mismatches: ${JSON.stringify(checked.examples)}`).toBe(0);
  const run = await simulate(dir, inputs.slice(0, free));
  const intervals = run.stats.intervals;
  const steady = intervals.slice(settle);
  expect(steady.length).toBeGreaterThanOrEqual(4);
  for (const interval of steady) expect(interval, `intervals ${intervals.join('/')}`).toBe(estimate.cyclesPerInference);
  for (const interval of intervals.slice(0, settle)) expect(Math.abs(interval - estimate.cyclesPerInference)).toBeLessThanOrEqual(0.05 * estimate.cyclesPerInference);
  const latency = run.stats.firstOutputLatency;
  expect(Math.abs(latency - estimate.firstOutputLatency)).toBeLessThanOrEqual(0.05 * estimate.firstOutputLatency);
  return { checked, intervals, latency };
}

/** Layers that take a pe even when the default folding leaves them out. */
const ELEMENTWISE = new Set(['Threshold', 'Requant', 'LabelSelect']);

/** The slowest folding: every MVU, window generator and elementwise layer at one lane (MVUs keep their SIMD). */
export function serialFolding(df: DataflowGraph): Folding {
  const fold = defaultFolding(df);
  const serial: Folding = {};
  for (const l of df.layers) {
    const f = fold[l.name];
    if (l.kind === 'MVU') serial[l.name] = { pe: 1, simd: f.simd };
    else if (l.kind === 'SlidingWindow') serial[l.name] = { pe: 1, taps: 1 };
    else if (f || ELEMENTWISE.has(l.kind)) serial[l.name] = { pe: 1 };
  }
  return serial;
}
