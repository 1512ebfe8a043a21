// Random-network differential test: seeded random quantized QONNX MLPs (test/helpers/random-mlp.ts:
// depth, widths, bit widths, signedness, sparsity) with a random folding per layer → lower → RTL →
// Verilator, with random back-pressure and input gaps: the RTL must equal the integer reference bit
// for bit; without stalls the simulated cycles per inference must equal the estimate exactly.
// FUZZ_N cases (default 50; `make fuzz N=1000`), seeds FUZZ_SEED.. (default 1). Designs are
// deterministic per seed, so the Verilator build cache makes reruns fast.
// Also FUZZ_CNN_N (default 8) random small CNNs (randomCnn below: conv → pooling → conv/dense
// chains, so Pad, SlidingWindow, window reductions, quantizers and width converters at random
// folds): the same checks, steady-state intervals == the estimate, and latency == the estimate.
// Builds are batched: FUZZ_BATCH consecutive cases (default 10) are verilated and compiled as one
// binary with the designs side by side (test/helpers/side-by-side.ts), each case still simulating
// only its own design; a cold build is mostly fixed cost, so this cuts the cold run several-fold.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileDataflow, type Design } from '../../src/codegen/index.ts';
import type { DataflowGraph } from '../../src/ir/dataflow.ts';
import { quantizeInput } from '../../src/lower/host.ts';
import { importGraph } from '../../src/onnx/import.ts';
import type { Folding } from '../../src/dataflow/fold.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { simulate } from '../../src/sim/simulate.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { cnnBuilder, int, ints } from '../helpers/cnn-builder.ts';
import { randomMlp, rng, type RandomMlp } from '../helpers/random-mlp.ts';
import { sideBySide } from '../helpers/side-by-side.ts';

const N = Number(process.env.FUZZ_N ?? 50);
const SEED0 = Number(process.env.FUZZ_SEED ?? 1);
const BATCH = Math.max(1, Number(process.env.FUZZ_BATCH ?? 10));
const VECTORS = 24;
const MAX_LANES = 32;

const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);
const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * A random legal PE/SIMD for every layer (uniform over divisors; an MVU gets at most MAX_LANES
 * multiply lanes, because fully unrolled designs take minutes to verilate; small layers still unroll).
 */
function randomFolding(df: DataflowGraph, seed: number): Folding {
  const r = rng(seed * 7919 + 13);
  const pick = (xs: number[]) => xs[Math.floor(r() * xs.length)];
  const num = (v: unknown) => v as number;
  const folding: Folding = {};
  for (const l of df.layers) {
    const a = l.attrs;
    if (l.kind === 'MVU') {
      const pe = pick(divisors(num(a.rows)).filter((d) => d <= MAX_LANES));
      folding[l.name] = { pe, simd: pick(divisors(num(a.cols)).filter((d) => pe * d <= MAX_LANES)) };
    }
    else if (l.kind === 'LabelSelect') folding[l.name] = { pe: pick(divisors(num(a.n))) };
    else if (l.kind === 'Threshold' || l.kind === 'Requant') {
      const ch = num(a.channels);
      folding[l.name] = { pe: pick(divisors(ch > 1 ? gcd(num(a.elems), ch) : num(a.elems))) };
    }
    else if (l.kind === 'Pad' || l.kind === 'MaxPool' || l.kind === 'AvgPool' || l.kind === 'VectorVector') folding[l.name] = { pe: pick(divisors(num(a.channels))) };
    else if (l.kind === 'SlidingWindow') {
      const pe = pick(divisors(num(a.channels)));
      // A whole window per beat needs every channel in it.
      folding[l.name] = { pe, taps: pe === num(a.channels) && r() < 0.5 ? num(a.kh) * num(a.kw) : 1 };
    }
  }
  return folding;
}

const work = mkdtempSync(join(tmpdir(), 'kiln-fuzz-'));
const totals = { cases: 0, vectors: 0, mismatches: 0, failedCases: [] as string[] };

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`fuzz: ${totals.cases} of ${N} random MLPs simulated (seeds ${SEED0}..${SEED0 + N - 1}), ` +
    `${totals.vectors} vectors, ${totals.mismatches} mismatching output values` +
    `${totals.failedCases.length ? `; failing: ${totals.failedCases.join(', ')}` : ''}\n`);
});

interface Case { seed: number; m: RandomMlp; fold?: Folding; design?: Design; dir?: string; error?: unknown }

/** Compiles one batch's designs (a failure stays with its case) and joins them into one build. */
function prepareBatch(first: number): { cases: Case[]; dirOf: (c: Case) => string } {
  const cases: Case[] = [];
  for (let seed = first; seed < Math.min(first + BATCH, SEED0 + N); seed++) {
    const c: Case = { seed, m: randomMlp(seed, { vectors: VECTORS }) };
    try {
      const g = importGraph(c.m.graph, { pipeline: 'tidy-exact' }).graph;
      const df = lowerModel(g, { source: `random_mlp_${seed}` });
      c.fold = randomFolding(df, seed);
      c.dir = join(work, `seed${seed}`);
      c.design = compileDataflow(df, c.dir, { fold: c.fold });
    } catch (e) {
      c.error = e;
    }
    cases.push(c);
  }
  const ok = cases.filter((c) => c.design);
  const joined = sideBySide(join(work, `batch${first}`), ok.map((c) => c.dir!));
  return { cases, dirOf: (c) => joined.caseDir(ok.indexOf(c)) };
}

describe(`random quantized MLPs: RTL == integer reference (${N} cases, ${Math.ceil(N / BATCH)} builds)`, () => {
  const batches = new Map<number, ReturnType<typeof prepareBatch>>();
  for (let i = 0; i < N; i++) {
    const seed = SEED0 + i;
    const first = SEED0 + i - (i % BATCH);
    it(`seed ${seed}`, async () => {
      if (!batches.has(first)) batches.set(first, prepareBatch(first));
      const batch = batches.get(first)!;
      const c = batch.cases.find((x) => x.seed === seed)!;
      let ok = false;
      try {
        if (c.error) throw c.error;
        const design = c.design!;
        const out = batch.dirOf(c);
        const inputs = c.m.inputs.map((x) => quantizeInput(design.df.inputQuant[0], x));
        const build = { quickBuild: true };
        const stalled = await simulateAndCompare(out, design.df, inputs, { backpressure: 0.3, gaps: 0.2, seed, build });
        totals.cases++;
        totals.vectors += inputs.length;
        totals.mismatches += stalled.mismatches;
        const ctx = `${c.m.description}; folding ${JSON.stringify(c.fold)}`;
        expect(stalled.mismatches, `${ctx}: first mismatches ${JSON.stringify(stalled.examples)}`).toBe(0);
        const free = await simulate(out, inputs, { build });
        expect(free.stats.cyclesPerInference, `${ctx}: cycles per inference`).toBe(design.manifest.estimate.cyclesPerInference);
        ok = true;
      } finally {
        if (!ok) totals.failedCases.push(String(seed));
      }
    }, 600_000);
  }
});

/**
 * A random small CNN: a 4-bit input quantizer, one or two convolutions (1×1 / 3×3, padding, stride,
 * depthwise) with 4-bit activations, a pooling (MaxPool 2×2, or GlobalAveragePool with a quantizer),
 * then a dense layer — the conv → pool → width converter chains of issue 12 item 4.
 */
function randomCnn(seed: number): { graph: Graph; shape: number[]; description: string } {
  const r = rng(seed * 104729 + 7);
  const pick = <T,>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  let c = pick([1, 2, 3, 4]);
  let h = pick([6, 7, 8]);
  let w = pick([5, 6, 8]);
  const shape = [1, c, h, w];
  const b = cnnBuilder(shape, seed, `random_cnn_${seed}`);
  const parts: string[] = [];
  let t = b.quant('x', 0.125, 4, true);
  for (let i = 0, n = pick([1, 2]); i < n; i++) {
    const depthwise = i > 0 && r() < 0.4;
    const k = pick([1, 3, 3]);
    const pad = k === 3 && r() < 0.6 ? 1 : 0;
    const stride = h > 5 && w > 5 && r() < 0.3 ? 2 : 1;
    const m = depthwise ? c : pick([2, 4, 6, 8]);
    t = b.act(b.conv(t, c, m, [k, k], { pads: ints([pad, pad, pad, pad]), strides: ints([stride, stride]) }, depthwise ? c : 1));
    h = Math.floor((h + 2 * pad - k) / stride) + 1;
    w = Math.floor((w + 2 * pad - k) / stride) + 1;
    c = m;
    parts.push(`${depthwise ? 'dw' : 'conv'}${k}x${k}${pad ? 'p1' : ''}${stride > 1 ? 's2' : ''}→${m}`);
  }
  const pool = pick(['max', 'gap', 'gap', 'none']);
  if (pool === 'max' && h >= 2 && w >= 2) {
    t = b.op('MaxPool', [t], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) });
    h = Math.floor(h / 2);
    w = Math.floor(w / 2);
    parts.push('maxpool2');
  } else if (pool === 'gap') {
    t = b.quant(b.op('GlobalAveragePool', [t]), 0.25, 6, false);
    h = w = 1;
    parts.push('gap');
  }
  const outs = pick([2, 3, 5]);
  t = b.op('Flatten', [t], { axis: int(1) });
  t = b.op('Gemm', [t, b.weights([outs, c * h * w]), b.bias(outs)], { transB: int(1) });
  return { graph: b.done(t), shape, description: `cnn ${shape.slice(1).join('×')}: ${parts.join(', ')}, dense→${outs}` };
}

const CNN_N = Number(process.env.FUZZ_CNN_N ?? 8);
const CNN_VECTORS = 6;

describe(`random quantized CNNs: RTL == integer reference, cycles and latency == estimate (${CNN_N} cases, 1 build)`, () => {
  interface CnnCase { seed: number; description: string; fold: Folding; design: Design; dir: string; inputs: number[][] }
  let prepared: { cases: (CnnCase | { seed: number; error: unknown })[]; dirOf: (i: number) => string } | undefined;
  const prepare = () => {
    const cases = Array.from({ length: CNN_N }, (_, i) => {
      const seed = SEED0 + i;
      try {
        const { graph, shape, description } = randomCnn(seed);
        const df = lowerModel(importGraph(graph, { pipeline: 'tidy-exact' }).graph, { source: `random_cnn_${seed}` });
        const fold = randomFolding(df, seed);
        const dir = join(work, `cnn${seed}`);
        const design = compileDataflow(df, dir, { fold });
        const r = rng(seed);
        const len = shape.reduce((a, b) => a * b, 1);
        const inputs = Array.from({ length: CNN_VECTORS }, () => quantizeInput(design.df.inputQuant[0], Float32Array.from({ length: len }, () => r() * 2 - 1)));
        return { seed, description, fold, design, dir, inputs };
      } catch (error) {
        return { seed, error };
      }
    });
    const ok = cases.filter((c): c is CnnCase => 'design' in c);
    const joined = sideBySide(join(work, 'cnn-batch'), ok.map((c) => c.dir));
    return { cases, dirOf: (i: number) => joined.caseDir(ok.indexOf(cases[i] as CnnCase)) };
  };
  for (let i = 0; i < CNN_N; i++) {
    it(`cnn seed ${SEED0 + i}`, async () => {
      prepared ??= prepare();
      const c = prepared.cases[i];
      if ('error' in c) throw c.error;
      const out = prepared.dirOf(i);
      const build = { quickBuild: true };
      const ctx = `${c.description}; folding ${JSON.stringify(c.fold)}`;
      const stalled = await simulateAndCompare(out, c.design.df, c.inputs, { backpressure: 0.3, gaps: 0.2, seed: c.seed, build });
      expect(stalled.mismatches, `${ctx}: first mismatches ${JSON.stringify(stalled.examples)}`).toBe(0);
      const free = await simulate(out, c.inputs, { build });
      const est = c.design.manifest.estimate;
      expect(free.stats.intervals.slice(1), `${ctx}: intervals ${free.stats.intervals.join('/')}`).toEqual(c.inputs.slice(2).map(() => est.cyclesPerInference));
      expect(free.stats.firstOutputLatency, `${ctx}: first-output latency`).toBe(est.firstOutputLatency);
    }, 600_000);
  }
});
