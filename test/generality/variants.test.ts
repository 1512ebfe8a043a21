// The variants suite (issue 12, item 5): small models in test/generality/models, each varying one
// lowering rule against a small base network, in the graph styles of QKeras, Brevitas (QONNX),
// PyTorch/ORT QDQ, TFLite→ONNX QOperator and hls4ml fixed point (README.md there; generated
// offline by make-variants.py, no Python here). For every model that lowers:
//   1. reference codes == ONNX executor: the integer dataflow executor's output codes equal the codes
//      the ONNX executor's float output implies, on every vector;
//   2. at the default folding (and, KILN_E2E=1, a serial one: test/helpers/design-check.ts): RTL == reference, bit
//      for bit, under random back-pressure and input gaps;
//   3. without stalls, every completion interval after the first == the estimated cycles per
//      inference, and the first-output latency == the estimate.
// Every model that kiln does not lower yet is in REFUSALS with the exact coded message it gets
// today: when a lowering rule lands, its models fail here until moved out of the table (and then
// must pass 1-3). Designs are verilated side by side (test/helpers/side-by-side.ts), BATCH per build.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileDataflow, type Design } from '../../src/codegen/index.ts';
import { runDataflow } from '../../src/exec/dataflow.ts';
import { runGraph } from '../../src/exec/run.ts';
import type { DataflowGraph } from '../../src/ir/dataflow.ts';
import { range } from '../../src/ir/datatype.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { quantizeInput } from '../../src/lower/host.ts';
import { importGraph } from '../../src/onnx/import.ts';
import { loadModel } from '../../src/onnx/load.ts';
import { defaultFolding } from '../../src/dataflow/fold.ts';
import { lowerModel } from '../../src/passes/to-dataflow.ts';
import { simulateAndCompare } from '../../src/sim/check.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { serialFolding } from '../helpers/design-check.ts';
import { rng } from '../helpers/random-mlp.ts';
import { sideBySide } from '../helpers/side-by-side.ts';

/**
 * Models kiln refuses today, with the exact first line of the refusal. The issue-12 refusal classes
 * are here on purpose (a raw accumulator with a non-power-of-two scale in a residual Add,
 * float models); the lowering rules of issue 12 are meant to empty this table.
 */
const REFUSALS: Record<string, string> = {
  brevitas_residual_raw_branch: "KLN2001 cannot lower op 'Conv' (rule integer-composition: the next layer's input is not quantized (no quantizer after this layer), and its output is float: row 1 is 0.00578938·acc - 0.125, a bias of -21.5913 steps of the sum, on neither its grid nor one power-of-two grid; fix: quantize the activation after this layer (Quant / QuantizeLinear), or put its scale and bias on one grid) at node 'Conv_30'",
  float_mlp: "KLN2001 cannot lower op 'Gemm' (rule integer-weights: this model is float (no quantizer anywhere, and weights 'w_1' are on no integer grid); fix: quantize it first with `kiln compress float_mlp.onnx -o float_mlp_int8.onnx --bits 8 --calib <inputs.npy>`) at node 'Gemm_5'",
  float_cnn: "KLN2001 cannot lower op 'Conv' (rule integer-weights: this model is float (no quantizer anywhere, and weights 'w_1' are on no integer grid); fix: quantize it first with `kiln compress float_cnn.onnx -o float_cnn_int8.onnx --bits 8 --calib <inputs.npy>`) at node 'Conv_3'",
  // Brevitas TruncAvgPool2d: no rule for Trunc after a pooling sum.
  brevitas_avgpool_trunc: "KLN2001 cannot lower op 'qonnx.custom_op.general:Trunc' (no lowering rule covers this op (docs/lowering.md lists the rules); fix: replace it with ops a rule covers, or run it on the host before or after the model) at node 'Trunc_30'",
  // A Concat whose branches both read the graph input.
  brevitas_concat_input_fanout: 'KLN2001 cannot lower the graph (rule dataflow-graph: the graph input fans out before its first layer (only layer outputs may branch); fix: start the model with one layer that every branch reads)',
  // hls4ml's default ap_fixed<16,6> between layers: a Threshold of 65,535 steps.
  hls4ml_conv_a16: "KLN2001 cannot lower op 'qonnx.custom_op.general:Quant' (rule activation: 65536 output levels (at most 4097 are supported); fix: quantize this activation to at most 12 bits (4097 levels)) at node 'Quant_21'",
  hls4ml_dense_a16: "KLN2001 cannot lower op 'qonnx.custom_op.general:Quant' (rule activation: 65536 output levels (at most 4097 are supported); fix: quantize this activation to at most 12 bits (4097 levels)) at node 'Quant_19'",
  // TFLite QOperator convolutions and adds.
  qop_conv: "KLN2001 cannot lower op 'QLinearConv' (no lowering rule covers this op (docs/lowering.md lists the rules); fix: replace it with ops a rule covers, or run it on the host before or after the model) at node 'QLinearConv_14'",
  qop_conv_maxpool: "KLN2001 cannot lower op 'QLinearConv' (no lowering rule covers this op (docs/lowering.md lists the rules); fix: replace it with ops a rule covers, or run it on the host before or after the model) at node 'QLinearConv_13'",
  qop_add: "KLN2001 cannot lower op 'com.microsoft:QLinearAdd' (rule dataflow-graph: more than one run-time input: only chains of layers lower to dataflow; fix: join branches only with a two-input Add or Concat of layer outputs (residual blocks)) at node 'QLinearAdd_30'",
};

// `make test` simulates every lowering model at its default folding (102 designs, 7 builds at
// 1b9eb2c: 495 CPU s for this whole file, ccache off; a cold 16-design build is ~57 CPU s, nearly all
// the C++ compile of the verilated model); KILN_E2E=1 adds the serial folding of each.
const FULL = process.env.KILN_E2E === '1';
const VECTORS = 8;
const BATCH = 16;
const dir = join(import.meta.dirname, 'models');
interface Entry { name: string; style: string; rule: string; doc: string; in_shape: number[] }
const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { models: Entry[] };
const FOLDINGS = ['default', 'serial'] as const;
type FoldingKind = (typeof FOLDINGS)[number];

function lower(m: Entry): { g: Graph; df: DataflowGraph } {
  const g = importGraph(loadModel(join(dir, `${m.name}.onnx`)), { pipeline: 'tidy-exact' }).graph;
  return { g, df: lowerModel(g, { source: `${m.name}.onnx` }) };
}

/** Seeded float inputs on the host quantizer's grid, over its whole code range. */
function gridInputs(df: DataflowGraph, len: number, seed: number): Float32Array[] {
  const q = df.inputQuant[0];
  const [lo, hi] = q.clip ?? range(q.qtype);
  const r = rng(seed);
  return Array.from({ length: VECTORS }, () => Float32Array.from({ length: len }, (_, i) => {
    const s = q.scale[i % q.scale.length], z = q.zeroPoint[i % q.zeroPoint.length];
    return (lo + Math.floor(r() * (hi - lo + 1)) - z) * s;
  }));
}

/** Output codes the ONNX executor's float output implies, in stream order (null: not on the grid). */
function onnxCodes(g: Graph, df: DataflowGraph, x: Float32Array, shape: number[]): number[] {
  const inName = g.inputs[0].name, outName = g.outputs[0].name;
  const y = runGraph(g, new Map([[inName, makeTensor('float32', shape, x)]]), { keep: [outName] }).get(outName)!;
  const { scale, offset, order } = df.outputAffine[0];
  const codes = new Array<number>(y.data.length);
  Array.from(y.data as Float32Array).forEach((v, i) => {
    const j = order ? order[i] : i;
    const c = j % scale.length;
    codes[j] = Math.round((v - offset[c]) / scale[c]);
  });
  return codes;
}

interface Case { m: Entry; kind: FoldingKind; design: Design; dir: string; inputs: number[][] }

const work = mkdtempSync(join(tmpdir(), 'kiln-variants-'));
const log: string[] = [];
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`variants suite (${index.models.length} models, ${Object.keys(REFUSALS).length} pinned refusals):\n${log.map((r) => `  ${r}`).join('\n')}\n`);
});

const lowering = index.models.filter((m) => !(m.name in REFUSALS));
const cases: { m: Entry; kind: FoldingKind }[] = lowering.flatMap((m) => (FULL ? FOLDINGS : FOLDINGS.slice(0, 1)).map((kind) => ({ m, kind })));

describe('variants: refusals pinned', () => {
  it('every table entry is a model of the suite', () => {
    for (const name of Object.keys(REFUSALS)) expect(index.models.some((m) => m.name === name), name).toBe(true);
    expect(index.models.length).toBeGreaterThanOrEqual(80);
  });
  for (const m of index.models.filter((x) => x.name in REFUSALS)) {
    it(`${m.name} (${m.style}, ${m.rule}): refused with its coded message`, () => {
      expect(() => lower(m)).toThrowError(REFUSALS[m.name]);
      try { lower(m); } catch (e) { expect(String((e as Error).message).split('\n')[0]).toBe(REFUSALS[m.name]); }
    });
  }
});

describe('variants: reference codes == ONNX executor', () => {
  lowering.forEach((m, i) => {
    it(`${m.name} (${m.style}, ${m.rule})`, () => {
      const { g, df } = lower(m);
      const len = m.in_shape.reduce((a, b) => a * b, 1);
      for (const x of gridInputs(df, len, i + 1)) {
        const want = onnxCodes(g, df, x, m.in_shape);
        const got = runDataflow(df, [quantizeInput(df.inputQuant[0], x)])[0];
        expect(got).toEqual(want);
      }
    });
  });
});

describe(`variants: RTL == reference under back-pressure, cycles and latency == estimate (${cases.length} designs, ${Math.ceil(cases.length / BATCH)} builds)`, () => {
  const batches = new Map<number, { built: Case[]; caseDir: (j: number) => string }>();
  const batchOf = (first: number) => {
    if (!batches.has(first)) {
      const built = cases.slice(first, first + BATCH).map(({ m, kind }, j) => {
        const { df } = lower(m);
        const out = join(work, `${m.name}-${kind}`);
        const design = compileDataflow(df, out, { fold: kind === 'default' ? defaultFolding(df) : serialFolding(df) });
        const len = m.in_shape.reduce((a, b) => a * b, 1);
        const inputs = gridInputs(design.df, len, first + j + 1).map((x) => quantizeInput(design.df.inputQuant[0], x));
        return { m, kind, design, dir: out, inputs };
      });
      const joined = sideBySide(join(work, `batch${first}`), built.map((c) => c.dir));
      batches.set(first, { built, caseDir: joined.caseDir });
    }
    return batches.get(first)!;
  };
  cases.forEach(({ m, kind }, i) => {
    it(`${m.name}, ${kind} folding`, async () => {
      const first = i - (i % BATCH);
      const batch = batchOf(first);
      const c = batch.built[i - first];
      const out = batch.caseDir(i - first);
      const build = { quickBuild: true };
      const stalled = await simulateAndCompare(out, c.design.df, c.inputs, { backpressure: 0.3, gaps: 0.1, seed: i + 1, build });
      expect(stalled.mismatches, `first mismatches: ${JSON.stringify(stalled.examples)}`).toBe(0);
      const free = await simulate(out, c.inputs, { build });
      const est = c.design.manifest.estimate;
      const intervals = free.stats.intervals;
      log.push(`${m.name} [${kind}]: ${c.inputs.length} vectors, 0 mismatches, intervals ${intervals.join('/')} (est ${est.cyclesPerInference}), latency ${free.stats.firstOutputLatency} (est ${est.firstOutputLatency})`);
      expect(intervals.length).toBeGreaterThanOrEqual(VECTORS - 1);
      for (const v of intervals.slice(1)) expect(v, `intervals ${intervals.join('/')}`).toBe(est.cyclesPerInference);
      expect(free.stats.firstOutputLatency, 'first-output latency').toBe(est.firstOutputLatency);
    }, 1_800_000); // the first case of a batch waits for its build: minutes of wall time on a loaded machine
  });
});
