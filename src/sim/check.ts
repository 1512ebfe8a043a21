// Simulation cross-checked against the integer reference executor: the RTL must equal
// runDataflow bit for bit, element by element, inference by inference.
import { runDataflowBatch } from '../exec/dataflow.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { numel } from '../ir/tensor.ts';
import { simulate, type SimOptions, type SimResult } from './simulate.ts';

export interface Mismatch {
  inference: number;
  element: number;
  rtl: number;
  reference: number;
}

export interface CheckResult extends SimResult {
  reference: number[][];
  /** Number of output elements where RTL ≠ reference (0 = bit-exact). */
  mismatches: number;
  /** The first few mismatches, for messages. */
  examples: Mismatch[];
  referenceSeconds: number;
}

/** Reference outputs (single-output designs): one array of output values per inference. */
export function referenceOutputs(df: DataflowGraph, inputs: number[][]): number[][] {
  return runDataflowBatch(df, inputs.map((x) => [x])).map((outs) => outs[0]);
}

/** Compares two sets of per-inference outputs. */
export function compareOutputs(rtl: number[][], reference: number[][], keep = 5): { mismatches: number; examples: Mismatch[] } {
  let mismatches = 0;
  const examples: Mismatch[] = [];
  const n = Math.max(rtl.length, reference.length);
  for (let k = 0; k < n; k++) {
    const a = rtl[k] ?? [];
    const b = reference[k] ?? [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) {
        mismatches++;
        if (examples.length < keep) examples.push({ inference: k, element: i, rtl: a[i], reference: b[i] });
      }
    }
  }
  return { mismatches, examples };
}

/** Simulates `inputs` (input values per inference) on the design in outDir and compares with the reference. */
export async function simulateAndCompare(outDir: string, df: DataflowGraph, inputs: number[][], opts: SimOptions = {}): Promise<CheckResult> {
  const outStream = df.streams.get(df.outputs[0]);
  const sim = await simulate(outDir, inputs, { outputElements: outStream ? numel(outStream.shape) : undefined, ...opts });
  const t0 = performance.now();
  const reference = referenceOutputs(df, inputs);
  const referenceSeconds = (performance.now() - t0) / 1000;
  return { ...sim, reference, ...compareOutputs(sim.outputs, reference), referenceSeconds };
}
