// The per-layer sim matrix (FINN style): one layer as a whole design, compiled by codegen and run in
// Verilator by src/sim. Per configuration: RTL == reference bit-exactly with random back-pressure and
// input gaps, AND simulated steady-state cycles per inference == the layer's cycle model, exactly.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { parseQType, range } from '../../src/ir/datatype.ts';
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { layerKind } from '../../src/layers/index.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { findTool } from '../../src/tools/index.ts';
import { randInt, rng } from '../unit/layers-helpers.ts';

export const haveVerilator = findTool('verilator') !== undefined;

export interface LayerCase {
  label: string;
  kind: string;
  attrs: Record<string, unknown>;
  consts?: Record<string, number[]>;
  inType: string;
  inElems: number;
  outType: string;
  outElems: number;
  /** Extra input vectors (e.g. extremes) simulated before the random ones. */
  extra?: number[][];
}

/** Random values of a datatype (BIPOLAR as ±1). */
export function randomValues(type: string, n: number, r: () => number): number[] {
  const t = parseQType(type);
  const [lo, hi] = range(t);
  return Array.from({ length: n }, () => (t.kind === 'BIPOLAR' ? (r() < 0.5 ? -1 : 1) : randInt(r, lo, hi)));
}

function graphOf(c: LayerCase): DataflowGraph {
  const layer: Layer = { name: 'dut', kind: c.kind, attrs: c.attrs, consts: c.consts ?? {}, inputs: ['x'], outputs: ['y'], origin: [c.label] };
  return {
    name: `sim_${c.kind}`,
    source: `${c.label}.onnx`,
    streams: new Map([
      ['x', { name: 'x', qtype: parseQType(c.inType), shape: [c.inElems] }],
      ['y', { name: 'y', qtype: parseQType(c.outType), shape: [c.outElems] }],
    ]),
    layers: [layer],
    inputs: ['x'],
    outputs: ['y'],
    inputQuant: [],
    outputAffine: [],
  };
}

export interface CaseResult { mismatches: number; cycles: number; simCycles: number; latency: number; simLatency: number }

/** Compiles and simulates one case (its folding is in attrs: no default folding applied). */
export async function runLayerCase(c: LayerCase, seed: number, n = 40): Promise<CaseResult> {
  const df = graphOf(c);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-sim-'));
  try {
    const out = join(dir, 'out');
    const fold = { dut: Object.fromEntries(Object.entries(c.attrs).filter(([k]) => k === 'pe' || k === 'simd')) } as never;
    const design = compileDataflow(df, out, { fold });
    const r = rng(seed);
    const inputs = [...(c.extra ?? []), ...Array.from({ length: n }, () => randomValues(c.inType, c.inElems, r))];
    // Free-running: cycles must equal the model. Then stalled randomly on both sides: values must still match.
    const free = await simulateAndCompare(out, df, inputs);
    const stalled = await simulateAndCompare(out, df, inputs, { backpressure: 0.3, gaps: 0.3, seed });
    const kind = layerKind(c.kind);
    const cycles = kind.spec.cycles(kind.parse(df.layers[0]) as never);
    expect(design.manifest.estimate.cyclesPerInference).toBe(cycles);
    return {
      mismatches: free.mismatches + stalled.mismatches,
      cycles,
      simCycles: free.stats.cyclesPerInference,
      latency: design.manifest.estimate.firstOutputLatency,
      simLatency: free.stats.firstOutputLatency,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The assertions every matrix case makes. */
export function expectExact(res: CaseResult): void {
  expect(res.mismatches).toBe(0);
  expect(res.simCycles).toBe(res.cycles);
  expect(res.simLatency).toBe(res.latency);
}

/**
 * One layer kind's matrix as a test suite: every case exact (expectExact, `n` inferences from seed
 * `seedBase + index`), and, given `cycles`, the model's cycles per inference equal to that formula.
 */
export function layerMatrix(kind: string, cases: LayerCase[], seedBase: number, opts: { n?: number; cycles?: (c: LayerCase) => number } = {}): void {
  describe.skipIf(!haveVerilator)(`${kind} RTL == reference, cycles == model`, () => {
    it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
      const res = await runLayerCase(c, seedBase + i, opts.n);
      expectExact(res);
      if (opts.cycles) expect(res.cycles).toBe(opts.cycles(c));
    });
  });
}

/** Cycles of a hw/window_reduce layer (MaxPool, AvgPool, VectorVector): one window-stream beat a cycle. */
export function windowReduceCycles(c: LayerCase): number {
  const a = c.attrs as { pixels: number; window: number; channels: number; pe: number };
  return (a.pixels * a.window * a.channels) / a.pe;
}
