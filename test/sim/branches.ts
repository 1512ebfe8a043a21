// Branching designs for the Duplicate / AddStreams / Fifo sim tests: x → Duplicate → [branch, bypass]
// → AddStreams → y, compiled by codegen and simulated as a whole (free-running for exact cycles, then
// with random back-pressure and input gaps for values).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { parseQType, qtypeName, range, smallestIntFor } from '../../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import type { SimOptions } from '../../src/sim/simulate.ts';
import { randInt, rng } from '../unit/layers-helpers.ts';
import { randomValues } from './layer-matrix.ts';

export interface BranchSpec {
  label: string;
  elems: number;
  pe: number;
  qtype: string;
  /** What the non-bypass branch computes: nothing, a per-channel Threshold, or an MVU (elems × elems). */
  branch: 'none' | 'threshold' | 'mvu';
  /** Bypass FIFO depth (0 = no FIFO). */
  fifo: number;
  /** MVU folding (branch 'mvu'). */
  mvuPe?: number;
  simd?: number;
}

export function branchGraph(s: BranchSpec, seed: number): DataflowGraph {
  const r = rng(seed);
  const streams: DataflowGraph['streams'] = new Map();
  const add = (name: string, qtype: string) => streams.set(name, { name, qtype: parseQType(qtype), shape: [s.elems] });
  const layer = (name: string, kind: string, attrs: Record<string, unknown>, inputs: string[], outputs: string[], consts: Record<string, number[]> = {}): Layer =>
    ({ name, kind, attrs, consts, inputs, outputs, origin: [s.label] });
  add('x', s.qtype);
  add('d0', s.qtype);
  add('d1', s.qtype);
  const layers: Layer[] = [layer('dup', 'Duplicate', { elems: s.elems, pe: s.pe, qtype: s.qtype }, ['x'], ['d0', 'd1'])];
  let a = 'd0';
  let aType = s.qtype;
  if (s.branch === 'threshold') {
    const [lo, hi] = range(parseQType(s.qtype));
    const thresholds: number[] = [];
    for (let c = 0; c < s.elems; c++) thresholds.push(...[0, 1, 2].map(() => randInt(r, lo, hi + 1)).sort((p, q) => p - q));
    aType = 'UINT2';
    add('t', aType);
    // The parallel form (one register stage): the bypass FIFO depths below are sized for it.
    layers.push(layer('act', 'Threshold', { elems: s.elems, channels: s.elems, steps: 3, pe: s.pe, inType: s.qtype, outType: aType, outBias: 0, outScale: 1, impl: 'parallel' }, ['d0'], ['t'], { thresholds }));
    a = 't';
  } else if (s.branch === 'mvu') {
    const weights = randomValues('INT3', s.elems * s.elems, r);
    aType = qtypeName(mvuOutType(s.elems, s.elems, parseQType(s.qtype), weights));
    add('m', aType);
    layers.push(layer('fc', 'MVU', { rows: s.elems, cols: s.elems, pe: s.mvuPe ?? 1, simd: s.simd ?? 1, inType: s.qtype, weightType: 'INT3', outType: aType }, ['d0'], ['m'], { weights }));
    a = 'm';
  }
  let b = 'd1';
  if (s.fifo > 0) {
    add('f', s.qtype);
    layers.push(layer('bypass', 'Fifo', { elems: s.elems, pe: s.pe, depth: s.fifo, qtype: s.qtype }, ['d1'], ['f']));
    b = 'f';
  }
  const [alo, ahi] = range(parseQType(aType));
  const [blo, bhi] = range(parseQType(s.qtype));
  const outType = qtypeName(smallestIntFor(alo + blo, ahi + bhi));
  add('y', outType);
  layers.push(layer('join', 'AddStreams', { elems: s.elems, pe: s.pe, aType, bType: s.qtype, outType }, [a, b], ['y']));
  return { name: `branch_${s.label}`, source: `${s.label}.onnx`, streams, layers, inputs: ['x'], outputs: ['y'], inputQuant: [], outputAffine: [] };
}

export interface GraphResult { mismatches: number; estimate: number; simCycles: number; latency: number; simLatency: number }

/** Compiles df with the folding in its attrs and simulates n random inputs twice (free, then stalled). */
export async function runGraph(df: DataflowGraph, seed: number, n = 16, opts: SimOptions = {}): Promise<GraphResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-graph-'));
  try {
    const out = join(dir, 'out');
    const fold = Object.fromEntries(df.layers.map((l) => [l.name, Object.fromEntries(Object.entries(l.attrs).filter(([k]) => k === 'pe' || k === 'simd'))]));
    const design = compileDataflow(df, out, { fold });
    const r = rng(seed);
    const x = df.streams.get(df.inputs[0])!;
    const inputs = Array.from({ length: n }, () => randomValues(qtypeName(x.qtype), x.shape[0], r));
    const free = await simulateAndCompare(out, df, inputs, opts);
    const stalled = await simulateAndCompare(out, df, inputs, { backpressure: 0.3, gaps: 0.3, seed, ...opts });
    return {
      mismatches: free.mismatches + stalled.mismatches,
      estimate: design.manifest.estimate.cyclesPerInference,
      simCycles: free.stats.cyclesPerInference,
      latency: design.manifest.estimate.firstOutputLatency,
      simLatency: free.stats.firstOutputLatency,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function expectGraphExact(res: GraphResult): void {
  expect(res.mismatches).toBe(0);
  expect(res.simCycles).toBe(res.estimate);
}
