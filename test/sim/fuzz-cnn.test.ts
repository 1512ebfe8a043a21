// Random CNN differential test, beside the MLP one (test/sim/fuzz.test.ts): seeded random quantized
// QONNX CNNs (test/helpers/random-cnn.ts: conv, strided and depthwise conv, max pooling, Pad,
// residual Add, channel Concat, random channels, sizes and bit widths) with a random MVU folding →
// lower → RTL → Verilator, with random back-pressure and input gaps: the RTL must equal the integer
// reference bit for bit; without stalls the simulated cycles per inference must equal the estimate.
// FUZZ_CNN_N cases (default 4 in make test; `make fuzz-cnn N=1000`), seeds FUZZ_CNN_SEED.. (default 1).
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
import { randomCnn, type RandomCnn } from '../helpers/random-cnn.ts';
import { rng } from '../helpers/random-mlp.ts';
import { sideBySide } from '../helpers/side-by-side.ts';

const N = Number(process.env.FUZZ_CNN_N ?? 4);
const SEED0 = Number(process.env.FUZZ_CNN_SEED ?? 1);
const BATCH = Math.max(1, Number(process.env.FUZZ_BATCH ?? 4));
const VECTORS = 6;
const MAX_LANES = 32;

const divisors = (n: number) => Array.from({ length: n }, (_, i) => i + 1).filter((d) => n % d === 0);

/** A random PE/SIMD for every MVU (uniform over divisors, at most MAX_LANES multiply lanes); the other layers keep the default. */
function randomFolding(df: DataflowGraph, seed: number): Folding {
  const r = rng(seed * 7919 + 13);
  const pick = (xs: number[]) => xs[Math.floor(r() * xs.length)];
  const num = (v: unknown) => v as number;
  const folding: Folding = {};
  for (const l of df.layers) {
    if (l.kind !== 'MVU') continue;
    const pe = pick(divisors(num(l.attrs.rows)).filter((d) => d <= MAX_LANES));
    folding[l.name] = { pe, simd: pick(divisors(num(l.attrs.cols)).filter((d) => pe * d <= MAX_LANES)) };
  }
  return folding;
}

const work = mkdtempSync(join(tmpdir(), 'kiln-fuzz-cnn-'));
const totals = { cases: 0, vectors: 0, mismatches: 0, failedCases: [] as string[] };

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`fuzz-cnn: ${totals.cases} of ${N} random CNNs simulated (seeds ${SEED0}..${SEED0 + N - 1}), ` +
    `${totals.vectors} vectors, ${totals.mismatches} mismatching output values` +
    `${totals.failedCases.length ? `; failing: ${totals.failedCases.join(', ')}` : ''}\n`);
});

interface Case { seed: number; m: RandomCnn; fold?: Folding; design?: Design; dir?: string; error?: unknown }

/** Compiles one batch's designs (a failure stays with its case) and joins them into one build. */
function prepareBatch(first: number): { cases: Case[]; dirOf: (c: Case) => string } {
  const cases: Case[] = [];
  for (let seed = first; seed < Math.min(first + BATCH, SEED0 + N); seed++) {
    const c: Case = { seed, m: randomCnn(seed, VECTORS) };
    try {
      const g = importGraph(c.m.graph, { pipeline: 'tidy-exact' }).graph;
      const df = lowerModel(g, { source: `random_cnn_${seed}` });
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

describe(`random quantized CNNs: RTL == integer reference (${N} cases, ${Math.ceil(N / BATCH)} builds)`, () => {
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
