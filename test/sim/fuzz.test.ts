// Random-network differential test: seeded random quantized QONNX MLPs (test/helpers/random-mlp.ts:
// depth, widths, bit widths, signedness, sparsity) with a random folding per layer → lower → RTL →
// Verilator, with random back-pressure and input gaps: the RTL must equal the integer reference bit
// for bit; without stalls the simulated cycles per inference must equal the estimate exactly.
// FUZZ_N cases (default 50; `make fuzz N=1000`), seeds FUZZ_SEED.. (default 1). Designs are
// deterministic per seed, so the Verilator build cache makes reruns fast.
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
