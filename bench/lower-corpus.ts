// The lowering sweep (issue 12, docs/lowering.md): every model of ../shared/corpus and ../shared/zoo
// through import → compile (lower + fold + RTL) → Verilator simulation, counting how many import, lower,
// simulate bit-exact (RTL == integer reference, cycles/inference == estimate) and come out of the
// simulation equal to the model's own output (the float ONNX executor on the same inputs).
// Usage: npx tsx bench/lower-corpus.ts [root=../shared] [--no-sim] [--only <substring>[,<substring>…]] [--json out.json]
// In `make bench` as the section 'lowering sweep'.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { compileModel } from '../src/cli/compile.ts';
import { KilnError } from '../src/diag/index.ts';
import { runGraph } from '../src/exec/run.ts';
import { decodeNpy } from '../src/io/npy.ts';
import { runtimeInputs, type Graph } from '../src/ir/graph.ts';
import { isFloat, makeTensor, nums, toNumbers, type Tensor } from '../src/ir/tensor.ts';
import { applyOutputAffine, hostGrid, hostInputError, quantizeInput } from '../src/lower/host.ts';
import type { InputQuantizer } from '../src/ir/dataflow.ts';
import { streamline } from '../src/passes/streamline.ts';
import { INTEGER_MACS, QUANTIZED_OUTPUTS, QUANTIZERS, WEIGHT_MACS } from '../src/lower/ops.ts';
import { inferGrid } from '../src/lower/rules/integer-weights.ts';
import { importModel } from '../src/onnx/import.ts';
import { decodeTensorFile } from '../src/onnx/tensor.ts';
import { simulateAndCompare } from '../src/sim/check.ts';
import { onnxFiles } from './models.ts';
import type { BenchContext, BenchSection } from './section.ts';

/** Inferences simulated per model. */
const VECTORS = 3;
/** Designs whose estimate is above this many cycles per inference are not simulated (reason given). */
const MAX_SIM_CYCLES = 2_000_000;
/** The model's output equals the executor's where |rtl − onnx| ≤ TOL · max(1, |onnx|) for every element. */
const TOL = 1e-4;

export interface SweepRow {
  model: string;
  imports: boolean;
  /** Quantized (a quantizer, or every weight on an integer grid) or float; unknown if it does not import. */
  kind: ModelKind;
  lowers: boolean;
  bitExact?: boolean;
  /** Steady state: every completion interval after the first == the estimated cycles per inference (as the test suites check). */
  cyclesMatch?: boolean;
  latencyMatch?: boolean;
  equalsOnnx?: boolean;
  /** For a float input on a grid kiln chose: equal to the ONNX executor fed the grid-rounded inputs. */
  equalsOnnxOnGrid?: boolean;
  maxErr?: number;
  reason: string;
}

type ModelKind = 'quantized' | 'float' | 'unknown';

/**
 * A model is quantized if it has a quantizer (the op families of src/lower/ops.ts, any QLinear* op) or
 * every MAC's initializer weights lie on an exact grid (inferGrid, the test the lowering itself uses);
 * otherwise float — the models the lowering refuses with "quantize it first" (floatModelRefusal).
 */
export function modelKind(g: Graph): ModelKind {
  if (g.nodes.some((n) => QUANTIZERS.has(n.op) || QUANTIZED_OUTPUTS.has(n.op) || INTEGER_MACS.has(n.op) || n.op.startsWith('QLinear'))) return 'quantized';
  const weights = g.nodes.filter((n) => WEIGHT_MACS.has(n.op)).map((n) => g.initializers.get(n.inputs[1]));
  return weights.length > 0 && weights.every((w) => w && inferGrid(toNumbers(w))) ? 'quantized' : 'float';
}

const firstLine = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0].slice(0, 160);

/** VECTORS input tensors for the model's (single) runtime input: zoo inputs.npy rows, the golden set, or seeded random. */
function inputVectors(g: Graph, path: string): Tensor[] {
  const [d] = runtimeInputs(g);
  const shape = (d.shape ?? []).map((x) => (typeof x === 'number' ? x : 1));
  const zoo = join(path, '..', 'inputs.npy');
  if (path.endsWith('model.onnx') && existsSync(zoo)) {
    const x = decodeNpy(readFileSync(zoo));
    const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
    return Array.from({ length: Math.min(VECTORS, x.shape[0]) }, (_, k) => {
      const t = makeTensor(d.dtype, shape);
      const data = nums(t);
      for (let i = 0; i < per; i++) data[i] = Number(x.data[k * per + i]);
      return t;
    });
  }
  const out: Tensor[] = [];
  const pb = join(path.replace(/\.onnx$/, ''), 'test_data_set_0', 'input_0.pb');
  if (existsSync(pb)) out.push(decodeTensorFile(readFileSync(pb), pb));
  let s = 1234;
  while (out.length < VECTORS) {
    const t = makeTensor(d.dtype, shape);
    const data = nums(t);
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      data[i] = isFloat(d.dtype) ? s / 2 ** 32 - 0.5 : s % 8;
    }
    out.push(t);
  }
  return out;
}

async function sweepModel(path: string, rel: string, sim: boolean, work: string): Promise<SweepRow> {
  const row: SweepRow = { model: rel, imports: false, kind: 'unknown', lowers: false, reason: '' };
  let g: Graph;
  try {
    g = importModel(path, { pipeline: 'tidy-exact' });
    row.imports = true;
    row.kind = modelKind(g);
  } catch (e) {
    row.reason = `import: ${firstLine(e)}`;
    return row;
  }
  const out = join(work, rel.replace(/[^A-Za-z0-9_.-]/g, '_'));
  let design;
  try {
    design = compileModel(path, out, { force: true });
    row.lowers = true;
  } catch (e) {
    row.reason = e instanceof KilnError ? firstLine(e) : `CRASH ${firstLine(e)}`;
    return row;
  }
  try {
    if (!sim) return row;
    const df = design.df;
    if (df.inputs.length !== 1 || df.outputs.length !== 1) {
      row.reason = `not simulated: ${df.inputs.length} inputs, ${df.outputs.length} outputs`;
      return row;
    }
    const est = design.manifest.estimate;
    if (est.cyclesPerInference > MAX_SIM_CYCLES) {
      row.reason = `not simulated: ${est.cyclesPerInference} cycles/inference estimated (> ${MAX_SIM_CYCLES})`;
      return row;
    }
    const xs = inputVectors(g, path);
    const codes = xs.map((x) => quantizeInput(df.inputQuant[0], nums(x)));
    const r = await simulateAndCompare(out, df, codes, { backpressure: 0.2, seed: 1 });
    row.bitExact = r.mismatches === 0;
    // Back-pressure stretches intervals; the stall-free cycle check is a second run without it.
    const free = await simulateAndCompare(out, df, codes);
    const ii = free.stats.intervals;
    // The first interval also holds the pipeline's fill (FIFOs filling), so the steady state starts after it.
    row.cyclesMatch = ii.length > 1 && ii.slice(1).every((c) => c === est.cyclesPerInference);
    row.latencyMatch = free.stats.firstOutputLatency === est.firstOutputLatency;
    // The tensor the output affine reproduces: the graph output, or the one before a dropped Softmax.
    const plan = streamline(g);
    const q = df.inputQuant[0];
    const grid = hostGrid(q);
    const compare = (ins: Float32Array[]) => {
      let maxErr = 0;
      let equal = true;
      ins.forEach((x, k) => {
        const ref = nums(runGraph(g, new Map([[d.name, makeTensor('float32', d.shape, x)]]), { keep: [plan.outputTensor] }).get(plan.outputTensor)!);
        const y = applyOutputAffine(df.outputAffine[0], r.outputs[k]);
        if (y.length !== ref.length) equal = false;
        for (let i = 0; i < ref.length; i++) {
          const err = Math.abs(y[i] - Number(ref[i]));
          maxErr = Math.max(maxErr, err);
          if (!(err <= TOL * Math.max(1, Math.abs(Number(ref[i]))))) equal = false;
        }
      });
      return { equal, maxErr };
    };
    const d = { name: runtimeInputs(g)[0].name, shape: xs[0].shape };
    const onX = compare(xs.map((x) => Float32Array.from(nums(x), Number)));
    row.equalsOnnx = onX.equal;
    row.maxErr = onX.maxErr;
    // A grid kiln chose for a float input: the same comparison on the inputs as the host rounds them.
    if (grid) row.equalsOnnxOnGrid = compare(codes.map((c) => dequantizeInput(q, c))).equal;
    const why: string[] = [];
    if (!row.bitExact) why.push(`${r.mismatches} RTL/reference mismatches`);
    if (!row.cyclesMatch) why.push(`intervals ${ii.join('/')} vs estimate ${est.cyclesPerInference} cycles/inference`);
    if (!row.latencyMatch) why.push(`first-output latency ${free.stats.firstOutputLatency} vs estimate ${est.firstOutputLatency}`);
    if (!onX.equal) {
      const clamped = grid ? hostInputError(q, xs.map((x) => nums(x))).clamped : 0;
      why.push(`max |RTL − ONNX| = ${onX.maxErr.toPrecision(3)}` + (!grid ? '' : row.equalsOnnxOnGrid
        ? ` from the host grid ${grid.grid} alone (equal to ONNX on the grid-rounded inputs${clamped ? `; ${clamped} input values clamped to ±${grid.range[1].toPrecision(3)}` : ''})`
        : ` (not equal on the grid-rounded inputs either)`));
    }
    if (plan.dropped.length) why.push(`compared before the dropped ${plan.dropped.join(', ')}`);
    row.reason = why.join('; ');
  } catch (e) {
    row.reason = `sim: ${firstLine(e)}`;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return row;
}

/** The model input the codes stand for (quantizeInput's inverse on the grid): (code − z)·s, in model element order. */
function dequantizeInput(q: InputQuantizer, codes: number[]): Float32Array {
  const x = new Float32Array(codes.length);
  codes.forEach((c, k) => {
    const i = q.order ? q.order[k] : k;
    x[i] = (c - q.zeroPoint[i % q.zeroPoint.length]) * q.scale[i % q.scale.length];
  });
  return x;
}

export async function sweep(root: string, opts: { sim: boolean; only?: string; log: (l: string) => void }): Promise<SweepRow[]> {
  const files = [...onnxFiles(join(root, 'corpus')), ...onnxFiles(join(root, 'zoo'))].filter((f) => !opts.only || opts.only.split(',').some((o) => f.includes(o)));
  const work = mkdtempSync(join(tmpdir(), 'kiln-lower-corpus-'));
  const rows: SweepRow[] = [];
  try {
    for (const f of files) {
      const t0 = performance.now();
      const row = await sweepModel(f, relative(root, f), opts.sim, work);
      rows.push(row);
      const mark = !row.imports ? 'no-import' : !row.lowers ? 'refused' : row.bitExact === undefined ? 'lowers' : row.bitExact && row.equalsOnnx ? 'EQUAL' : row.bitExact ? 'bit-exact' : 'MISMATCH';
      opts.log(`${mark.padEnd(9)} ${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${row.model}${row.reason ? `  — ${row.reason}` : ''}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}

function counts(rows: SweepRow[], sim: boolean): string {
  const n = (p: (r: SweepRow) => boolean | undefined) => rows.filter((r) => p(r)).length;
  const lowered = `${rows.length} models: ${n((r) => r.imports)} import, ${n((r) => r.lowers)} lower`;
  return !sim ? `${lowered} (not simulated)` : `${lowered}, ${n((r) => r.bitExact)} simulate bit-exact ` +
    `(${n((r) => r.bitExact && r.cyclesMatch)} with cycles == estimate, ${n((r) => r.bitExact && r.latencyMatch)} with latency == estimate), ${n((r) => r.equalsOnnx)} equal to the ONNX executor ` +
    `(${n((r) => r.equalsOnnx || r.equalsOnnxOnGrid)} on the inputs as the host grid rounds them)`;
}

/** The counts over all models and per kind, then every quantized model that does not lower, with its reason. */
export function summary(rows: SweepRow[], sim = true): string {
  const kinds: ModelKind[] = ['quantized', 'float', 'unknown'];
  const refused = rows.filter((r) => r.kind === 'quantized' && !r.lowers);
  return [
    `all: ${counts(rows, sim)}`,
    ...kinds.filter((k) => rows.some((r) => r.kind === k)).map((k) => `${k}: ${counts(rows.filter((r) => r.kind === k), sim)}`),
    `quantized models that do not lower (${refused.length}):`,
    ...refused.map((r) => `  ${r.model}  — ${r.reason}`),
  ].join('\n');
}

export const lowerCorpusSection: BenchSection = {
  name: 'lowering sweep: every corpus and zoo model through compile and Verilator (issue 12)',
  async run(ctx: BenchContext) {
    if (!ctx.shared) {
      ctx.log('skip: the shared model collection is not present');
      return;
    }
    const rows = await sweep(ctx.shared, { sim: true, log: ctx.log });
    ctx.log(summary(rows));
  },
};

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const val = (f: string) => (args.indexOf(f) >= 0 ? args[args.indexOf(f) + 1] : undefined);
  const jsonOut = val('--json');
  const only = val('--only');
  const root = args.find((a, i) => !a.startsWith('--') && !['--json', '--only'].includes(args[i - 1])) ??
    (existsSync('../shared') ? '../shared' : '/work/shared');
  const sim = !args.includes('--no-sim');
  const rows = await sweep(root, { sim, only, log: (l) => console.log(l) });
  console.log(`\n${summary(rows, sim)}`);
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
}
