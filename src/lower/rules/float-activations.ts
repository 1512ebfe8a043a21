// Rule float-activations (opt-in, LowerOptions.quantizeActivations): activation quantization for float models whose weights are already few-level (mlp_ternary):
// a MAC whose input is an unquantized float cannot become an integer layer, so this inserts a QONNX
// Quant before each such MAC, calibrated on sample inputs. It CHANGES the model (post-training
// quantization of activations); lowering is then exact with respect to the quantized graph, and the
// test measures the agreement with the float original. Scales are powers of two (so the next
// MatMul's float sum stays exact) except where the caller fixes the input quantizer (e.g. 1/255 for
// pixel inputs, which makes the input codes the original pixel bytes).
import { runGraph } from '../../exec/run.ts';
import { producers, runtimeInputs, type Graph, type Node } from '../../ir/graph.ts';
import { makeTensor } from '../../ir/tensor.ts';
import { MAX_POOLS, QUANTIZED_OUTPUTS, RESHAPES, WEIGHT_MACS } from '../ops.ts';
import type { LoweringRule } from './rule.ts';

export interface QuantizeActivationsOptions {
  /** Bits of each inserted activation quantizer (default 8). */
  bits?: number;
  /** Input vectors (one inference each) to calibrate the ranges on. */
  calibration: Float32Array[];
  /** A fixed quantizer for the graph input, instead of a calibrated one. */
  input?: { scale: number; bits: number; signed: boolean };
}

export interface InsertedQuant { before: string; tensor: string; scale: number; bits: number; signed: boolean }

const QDOMAIN = 'qonnx.custom_op.general';

export const floatActivationsRule: LoweringRule = {
  name: 'float-activations',
  doc: 'Opt-in (quantizeActivations): a calibrated power-of-two Quant before every MAC whose input is float; this changes the model.',
  matches: 'MatMul / Gemm / Conv whose run-time input (through reshapes and max pools) is not quantized, in a model with few-level weights',
  emits: 'QONNX Quant nodes in the graph before lowering (then the other rules apply)',
  tests: ['test/passes/streamline-models.test.ts', 'test/e2e/mlp-models.test.ts'],
  ops: new Set(),
};

/** The MatMul/Gemm/Conv nodes whose run-time input is not quantized (looking through layout ops and max pools). */
export function floatMacInputs(g: Graph): { mac: Node; tensor: string }[] {
  const prod = producers(g);
  const targets: { mac: Node; tensor: string }[] = [];
  for (const n of g.nodes) {
    if (!WEIGHT_MACS.has(n.op) || g.initializers.has(n.inputs[0])) continue;
    let p = prod.get(n.inputs[0]);
    while (p && (RESHAPES.has(p.op) || MAX_POOLS.has(p.op))) p = prod.get(p.inputs[0]);
    if (p && QUANTIZED_OUTPUTS.has(p.op)) continue;
    targets.push({ mac: n, tensor: n.inputs[0] });
  }
  return targets;
}

/**
 * Runs g on each calibration vector (one inference each, fed to the first run-time input) and
 * hands every requested tensor's values to `visit`.
 */
export function observeTensors(g: Graph, calibration: Float32Array[], tensors: string[], visit: (tensor: string, values: Float32Array) => void): void {
  const decl = runtimeInputs(g)[0];
  const shape = (decl.shape ?? []).map((d) => (typeof d === 'number' ? d : 1));
  for (const x of calibration) {
    const env = runGraph(g, new Map([[decl.name, makeTensor('float32', shape, x)]]), { keep: tensors });
    for (const t of tensors) visit(t, env.get(t)!.data as Float32Array);
  }
}

/** A copy of g with a Quant before every MatMul/Gemm/Conv whose run-time input is not quantized. */
export function quantizeFloatActivations(g: Graph, opts: QuantizeActivationsOptions): { graph: Graph; inserted: InsertedQuant[] } {
  const out: Graph = structuredClone(g);
  const prod = producers(out);
  const input = runtimeInputs(out)[0]?.name;
  const targets = floatMacInputs(out);
  // Calibrate: the range of every target tensor over the sample inputs.
  const lo = new Map<string, number>();
  const hi = new Map<string, number>();
  observeTensors(g, opts.calibration, [...new Set(targets.map((t) => t.tensor))], (tensor, values) => {
    for (const v of values) {
      lo.set(tensor, Math.min(lo.get(tensor) ?? Infinity, v));
      hi.set(tensor, Math.max(hi.get(tensor) ?? -Infinity, v));
    }
  });
  const bits = opts.bits ?? 8;
  const inserted: InsertedQuant[] = [];
  out.opsets[QDOMAIN] ??= 1;
  let uid = 0;
  const fresh = (base: string) => {
    let n: string;
    do n = `${base}_${uid++}`; while (out.initializers.has(n) || prod.has(n));
    return n;
  };
  for (const { mac, tensor } of targets) {
    let q: { scale: number; bits: number; signed: boolean };
    if (tensor === input && opts.input) q = opts.input;
    else {
      const signed = (lo.get(tensor) ?? 0) < 0;
      const maxAbs = Math.max(Math.abs(lo.get(tensor) ?? 0), Math.abs(hi.get(tensor) ?? 0), 2 ** -20);
      const qmax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
      q = { scale: 2 ** Math.ceil(Math.log2(maxAbs / qmax)), bits, signed };
    }
    const s = fresh(`${tensor}_qscale`);
    const z = fresh(`${tensor}_qzero`);
    const b = fresh(`${tensor}_qbits`);
    const y = fresh(`${tensor}_quant`);
    out.initializers.set(s, makeTensor('float32', [], [q.scale]));
    out.initializers.set(z, makeTensor('float32', [], [0]));
    out.initializers.set(b, makeTensor('float32', [], [q.bits]));
    const node: Node = {
      name: fresh(`${mac.name}_input_quant`), op: 'Quant', domain: QDOMAIN, inputs: [tensor, s, z, b], outputs: [y],
      attrs: { signed: { kind: 'int', v: q.signed ? 1 : 0 }, narrow: { kind: 'int', v: 0 }, rounding_mode: { kind: 'string', v: 'ROUND' } },
    };
    out.nodes.splice(out.nodes.indexOf(mac), 0, node);
    mac.inputs[0] = y;
    inserted.push({ before: mac.name, tensor, ...q });
  }
  return { graph: out, inserted };
}
