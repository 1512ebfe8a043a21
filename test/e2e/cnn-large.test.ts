// The two larger nn2fpga corpus CNNs of issue 4, end to end (KILN_E2E=1 only: lowering alone takes
// 10–20 s a model, Verilator builds a few minutes, the simulations minutes more):
//  - resnet20_a8w8b16: ResNet-20 for CIFAR-10, nine residual blocks (two with strided 1×1
//    downsample convs), 8-bit activations and weights, 16-bit bias Quant;
//  - mobilenet_v1_vww_a8w8: MobileNet-v1 for Visual Wake Words, 96×96×3, 13 depthwise-separable
//    blocks (stride-2 depthwise convs), 8-bit.
// For each model:
//  1. reference vs golden: kiln's reference executor reproduces the corpus golden (output codes of the
//     final Quant equal), and on 20 vectors (the golden input and 19 seeded vectors over its value
//     range) it agrees with onnxruntime-node running the same graph with every QONNX Quant rewritten
//     into standard ops (qonnx semantics: y = (round(clip(x/s + z, lo, hi)) − z)·s, round half to
//     even), as the corpus goldens were made; and the integer dataflow (what the RTL implements)
//     reproduces the reference executor's output codes exactly on the same 20 vectors;
//  2. RTL == integer reference bit for bit on those 20 vectors under two foldings (default, and a
//     half-rate one: every MVU at half its default pe·simd lanes where it can, the image kinds as
//     the default; MobileNet also a third, its window generators as --fold auto picks them, see
//     `folding`), with random back-pressure (30 %) and input gaps (10 %); the computed FIFO depths
//     never deadlock;
//  3. a stall-free run (6 inferences; MobileNet 10): once the pipeline has settled (see `settle`)
//     every completion interval equals the estimated cycles per inference exactly; the intervals
//     before that and the first-output latency are within 5 % of the estimate.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { compileDataflow } from '../../src/codegen/index.ts';
import { runGraph } from '../../src/exec/run.ts';
import type { DataflowGraph } from '../../src/ir/dataflow.ts';
import { attrInt, attrString, type Graph, type Node } from '../../src/ir/graph.ts';
import { makeTensor, nums } from '../../src/ir/tensor.ts';
import { quantizeInput } from '../../src/lower/host.ts';
import { importGraph } from '../../src/onnx/import.ts';
import { decodeModel, encodeModel } from '../../src/onnx/load.ts';
import { decodeTensorFile } from '../../src/onnx/tensor.ts';
import { defaultFolding, type Folding } from '../../src/dataflow/fold.ts';
import { autoFolding } from '../../src/dataflow/fold-auto.ts';
import { foldedDataflow } from '../../src/dataflow/pipeline.ts';
import { networkPerformance } from '../../src/estimate/perf.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { compareLowering } from '../passes/streamline-compare.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { codes, quantizerOf } from '../helpers/golden.ts';
import { rng } from '../helpers/random-mlp.ts';
import { tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';

const FULL = process.env.KILN_E2E === '1';
const VECTORS = 20;
const root = join(import.meta.dirname, '..', '..');
const fixture = (f: string) => join(root, 'test/fixtures/corpus/nn2fpga', f);

/** A gzipped corpus model (byte-identical upstream .onnx, gzip -9). */
function loadGz(name: string): Graph {
  const path = fixture(`${name}.onnx.gz`);
  return decodeModel(gunzipSync(readFileSync(path)), path);
}

const pb = (name: string, f: string) => {
  const path = fixture(`${name}/test_data_set_0/${f}`);
  return decodeTensorFile(readFileSync(path), path);
};

/** The corpus golden input and seeded vectors spread uniformly over its value range. */
function inputsOf(name: string, n: number, seed: number): Float32Array[] {
  const golden = pb(name, 'input_0.pb').data as Float32Array;
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of golden) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  const r = rng(seed);
  return [Float32Array.from(golden), ...Array.from({ length: n - 1 }, () => Float32Array.from(golden, () => lo + r() * (hi - lo)))];
}

/**
 * The graph with every Quant (QONNX, any domain) as standard ONNX ops, for onnxruntime:
 * Div, Add(zero point), Clip(lo, hi), Round (half to even; Floor/Ceil for those modes), Sub, Mul.
 * Graph inputs that have an initializer (old exports list biases as inputs) are dropped.
 */
function standardOps(g: Graph): Graph {
  const inits = new Map(g.initializers);
  const nodes: Node[] = [];
  let k = 0;
  const scalar = (v: number) => {
    const name = `__q_const${k++}`;
    inits.set(name, makeTensor('float32', [], [v]));
    return name;
  };
  for (const n of g.nodes) {
    if (n.op !== 'Quant') {
      nodes.push(n);
      continue;
    }
    const [x, s0, z0, b] = n.inputs;
    // Scale and zero point as float32 constants (QONNX allows integer zero points; Add/Mul need one type).
    const float = (name: string) => {
      const t = inits.get(name);
      if (!t || t.dtype === 'float32') return name;
      const f = `${name}__f32`;
      inits.set(f, makeTensor('float32', [...t.shape], Array.from(nums(t))));
      return f;
    };
    const [s, z] = [float(s0), float(z0)];
    const bits = nums(inits.get(b)!)[0];
    const signed = attrInt(n, 'signed', 1) === 1;
    const narrow = attrInt(n, 'narrow', 0) === 1;
    const lo = signed ? -(2 ** (bits - 1)) + (narrow ? 1 : 0) : 0;
    const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1 - (narrow ? 1 : 0);
    const mode = attrString(n, 'rounding_mode', 'ROUND');
    const round = mode === 'ROUND' ? 'Round' : mode === 'FLOOR' ? 'Floor' : mode === 'CEIL' ? 'Ceil' : undefined;
    if (!round) throw new Error(`Quant ${n.name}: rounding_mode ${mode}`);
    const t = (step: string) => `${n.name}__${step}`;
    const op = (type: string, inputs: string[], out: string) => nodes.push({ name: out, op: type, domain: '', inputs, outputs: [out], attrs: {} });
    op('Div', [x, s], t('div'));
    op('Add', [t('div'), z], t('add'));
    op('Clip', [t('add'), scalar(lo), scalar(hi)], t('clip'));
    op(round, [t('clip')], t('round'));
    op('Sub', [t('round'), z], t('sub'));
    op('Mul', [t('sub'), s], n.outputs[0]);
  }
  const used = new Set(nodes.flatMap((n) => n.inputs));
  for (const name of [...inits.keys()]) if (!used.has(name)) inits.delete(name);
  return {
    ...g,
    opsets: { '': Math.max(13, g.opsets[''] ?? 13) },
    inputs: g.inputs.filter((i) => !inits.has(i.name)),
    nodes,
    initializers: inits,
  };
}

/**
 * settle: completion intervals the pipeline takes to reach its steady state in a stall-free run
 * (checked: every later interval equals the estimate; the earlier ones are within 5 %). ResNet-20
 * settles within the first interval, as ResNet-8 does. MobileNet-v1 (Verilator, default folding:
 * 21,664 / 21,415 / 21,073 / 20,779, then 20,736 = the estimate): each of its fourteen window
 * generators at the II starts its first image as soon as data arrive and falls behind its producer
 * only at the first image boundary, where it needs the next image's first lines while still
 * finishing its own; the lags build up one block after the other over the first images.
 */
type FoldingKind = 'default' | 'half' | 'windows' | 'auto';
interface Model { name: string; seed: number; free: number; settle: number; foldings: FoldingKind[] }
const MODELS: Model[] = [
  { name: 'resnet20_a8w8b16', seed: 20, free: 6, settle: 1, foldings: ['default', 'half'] },
  { name: 'mobilenet_v1_vww_a8w8', seed: 96, free: 10, settle: 4, foldings: ['default', 'half', 'windows', 'auto'] },
];

/**
 * The default folding; every MVU at half its default lanes (pe halved if even, else simd); or the
 * default with every SlidingWindow as `--fold auto` folds it on an xcvu9p at the default's FPS
 * (200 MHz). MobileNet-v1's default is already the fastest legal folding (bottleneck the first
 * depthwise conv; faster needs whole-window generators, which do not build), so this second folding
 * keeps the default's II: auto puts the window generators of Conv_3 … Conv_25 at pe 16 (below the II,
 * behind width converters to the depthwise convs' lanes) instead of the default's 1–8. 'auto' is the
 * whole auto folding (Thresholds / Requants at pe 1–4, MVUs at pe 2): before the burst FIFOs
 * (insertBurstFifos in src/dataflow/fifo-sizing.ts) it ran at 26,064 cycles per inference in Verilator
 * for the estimated 20,736.
 */
function folding(df: DataflowGraph, kind: FoldingKind): Folding {
  const fold = defaultFolding(df);
  if (kind === 'default') return fold;
  if (kind === 'windows' || kind === 'auto') {
    const { df: folded, checked } = foldedDataflow(df, { fold });
    const ii = networkPerformance(folded, checked).cyclesPerInference;
    const auto = autoFolding(df, { fps: 200e6 / (ii + 0.5), device: 'xcvu9p', clockMHz: 200 }).folding;
    if (kind === 'auto') return auto;
    const windows: Folding = { ...fold };
    for (const l of df.layers) if (l.kind === 'SlidingWindow' && auto[l.name]) windows[l.name] = auto[l.name];
    const changed = Object.keys(windows).filter((k) => JSON.stringify(windows[k]) !== JSON.stringify(fold[k]));
    if (changed.length === 0) throw new Error('windows folding: --fold auto folds every SlidingWindow as the default does');
    return windows;
  }
  const half: Folding = { ...fold };
  for (const l of df.layers) {
    const f = fold[l.name];
    if (l.kind !== 'MVU' || !f) continue;
    const pe = f.pe ?? 1, simd = f.simd ?? 1;
    half[l.name] = pe % 2 === 0 ? { pe: pe / 2, simd } : simd % 2 === 0 ? { pe, simd: simd / 2 } : f;
  }
  return half;
}

const work = tempDirsRemovedAfterAll();
const results: string[] = [];
const report = (line: string) => {
  results.push(line);
  process.stdout.write(`cnn-large: ${line}\n`);
};
afterAll(() => {
  if (results.length) process.stdout.write(`e2e large CNNs:\n${results.map((r) => `  ${r}`).join('\n')}\n`);
});

describe.runIf(FULL)('issue-4 large nn2fpga CNNs (KILN_E2E=1)', () => {
  MODELS.forEach((m, i) => {
    const inputs = () => inputsOf(m.name, VECTORS, m.seed);

    it(`${m.name}: reference == golden, == onnxruntime (Quant as standard ops) and == integer dataflow on ${VECTORS} vectors`, async () => {
      const raw = loadGz(m.name);
      const g = importGraph(loadGz(m.name), { pipeline: 'tidy-exact' }).graph;
      const out = g.outputs[0].name;
      const q = quantizerOf(g, out)!;
      expect(q?.op).toBe('Quant');
      const shape = (g.inputs[0].shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
      const run = (x: Float32Array) => runGraph(g, new Map([[g.inputs[0].name, makeTensor('float32', shape, x)]]), { keep: [out] }).get(out)!;
      // The corpus golden: output codes equal.
      const golden = pb(m.name, 'output_0.pb');
      const x0 = pb(m.name, 'input_0.pb').data as Float32Array;
      expect(Array.from(nums(codes(g, q, run(x0))!))).toEqual(Array.from(nums(codes(g, q, golden)!)));
      // onnxruntime on the same vectors.
      const xs = inputs();
      const session = await ort.InferenceSession.create(encodeModel(standardOps(raw)), { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
      let equal = 0;
      for (const x of xs) {
        const mine = Array.from(nums(codes(g, q, run(x))!));
        const r = await session.run({ [raw.inputs[0].name]: new ort.Tensor('float32', x, shape) });
        const theirs = Array.from(nums(codes(g, q, makeTensor('float32', [...r[raw.outputs[0].name].dims], Array.from(r[raw.outputs[0].name].data as Float32Array)))!));
        if (mine.every((v, j) => v === theirs[j])) equal++;
      }
      await session.release();
      expect(equal).toBe(xs.length);
      // The integer dataflow graph (what the RTL implements) reproduces the reference executor's codes.
      const c = compareLowering(g, xs);
      expect(c.mismatches.slice(0, 5)).toEqual([]);
      expect(c.codesEqual).toBe(c.elements);
      expect(c.top1Equal).toBe(VECTORS);
      report(`${m.name}: golden codes equal; reference == onnxruntime on ${equal}/${xs.length} vectors; integer dataflow == reference (${c.elements} codes)`);
    }, 1_800_000);

    for (const kind of m.foldings) {
      it(`${m.name}, ${kind} folding: RTL == reference on ${VECTORS} vectors under back-pressure, cycles == estimate`, async () => {
        const g = importGraph(loadGz(m.name), { pipeline: 'tidy-exact' }).graph;
        const df = lowerModel(g, { source: `${m.name}.onnx` });
        const out = join(work(), `${m.name}-${kind}`);
        const design = compileDataflow(df, out, { fold: folding(df, kind) });
        const xs = inputs().map((x) => quantizeInput(design.df.inputQuant[0], x));
        expect(xs.length).toBe(VECTORS);
        const checked = await simulateAndCompare(out, design.df, xs, { backpressure: 0.3, gaps: 0.1, seed: i + 1 });
        expect(checked.outputs.length).toBe(VECTORS);
        expect(checked.mismatches, `first mismatches: ${JSON.stringify(checked.examples)}`).toBe(0);
        const free = await simulate(out, xs.slice(0, m.free));
        const est = design.manifest.estimate;
        const intervals = free.stats.intervals;
        const [fill] = intervals;
        const settling = intervals.slice(1, m.settle);
        const steady = intervals.slice(m.settle);
        expect(steady.length).toBeGreaterThanOrEqual(4);
        for (const interval of steady) expect(interval, `intervals ${intervals.join('/')}`).toBe(est.cyclesPerInference);
        for (const interval of [fill, ...settling]) expect(Math.abs(interval - est.cyclesPerInference)).toBeLessThanOrEqual(0.05 * est.cyclesPerInference);
        expect(Math.abs(free.stats.firstOutputLatency - est.firstOutputLatency)).toBeLessThanOrEqual(0.05 * est.firstOutputLatency);
        report(`${m.name} [${kind}]: ${VECTORS} vectors, 0 mismatches, intervals ${intervals.join('/')} (est ${est.cyclesPerInference}), ` +
          `latency ${free.stats.firstOutputLatency} (est ${est.firstOutputLatency}), build ${checked.build.cached ? 'cached' : `${checked.build.seconds.toFixed(1)} s`}, sim ${checked.runSeconds.toFixed(1)} s`);
      }, 3_600_000);
    }
  });
});
