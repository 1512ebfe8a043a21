// Rule matmul: a fully connected layer (MatMul, Gemm, and the QOperator QLinearMatMul / MatMulInteger)
// is one MVU: integer weights, columns in the stream order of its input vector (an NCHW flatten
// permutes them), zero points folded into weights and biases.
import { KilnError } from '../../diag/index.ts';
import { attrFloat, attrInt, type Node } from '../../ir/graph.ts';
import { makeTensor, toNumbers } from '../../ir/tensor.ts';
import type { Chain } from '../chain.ts';
import { DENSE_MACS, INTEGER_MACS } from '../ops.ts';
import type { InSide, MacWeights } from '../plan.ts';
import { identityPositions } from '../spatial.ts';
import { constOf, scalarOf } from '../support.ts';
import { cannotLower, type GraphView } from '../view.ts';
import { integerWeights, qoperatorWeights } from './integer-weights.ts';
import { runtimeFirst, type LayerRule } from './rule.ts';

export const matmulRule: LayerRule = {
  name: 'matmul',
  doc: 'A fully connected layer is one MVU; Gemm alpha/bias and QLinearMatMul\'s MLAS requantization join the activation chain.',
  matches: 'MatMul, Gemm (transA = 0, any transB/alpha/beta), QLinearMatMul, MatMulInteger with constant weights as the second input',
  emits: 'MVU (matrix-vector unit), rows = outputs, columns = inputs in stream order',
  tests: ['test/passes/streamline-passes.test.ts', 'test/e2e/mlp-models.test.ts'],
  ops: DENSE_MACS,
  operand: runtimeFirst('weights must be the second input, the run-time vector the first'),
  inputZero(v, mac, input) {
    if (!INTEGER_MACS.has(mac.op)) return input.model.z;
    if (input.model.s !== 1 || input.model.z !== 0) {
      throw new KilnError(cannotLower(mac, 'its input must be integer codes (from QuantizeLinear or QLinearMatMul)', { rule: 'matmul', fix: 'quantize its input with QuantizeLinear (or feed it from another QLinearMatMul)' }));
    }
    // QOperator MACs take their input zero point themselves; codes arrive raw (scale 1, zero point 0).
    return scalarOf(v, mac.inputs[2], mac, 0, 'the input zero point');
  },
  weights: matrixWeights,
  chainPrefix,
};

function chainPrefix(v: GraphView, mac: Node, chain: Chain, rows: number): void {
  if (mac.op === 'Gemm') {
    const a = attrFloat(mac, 'alpha', 1);
    const b = attrFloat(mac, 'beta', 1);
    if (a !== 1) chain.pushConst('Mul', [makeTensor('float32', [], [a])], `${mac.name}_alpha`);
    if (mac.inputs[2]) {
      const cT = constOf(v, mac.inputs[2], mac);
      const cv = toNumbers(cT).map((x) => Math.fround(x * b));
      chain.pushConst('Add', [makeTensor('float32', cT.shape, cv)], `${mac.name}_bias`);
    }
  }
  if (mac.op === 'QLinearMatMul') {
    // onnxruntime/MLAS requantization (as src/exec/ops/qoperator.ts): saturate(rne(f32(acc)·ratio) + y_zp)
    // with ratio = f32(f32(a_scale·b_scale[n]) / y_scale) — a float32 Mul, then QuantizeLinear(1, y_zp).
    const as = scalarOf(v, mac.inputs[1], mac, 1, 'a_scale');
    const ys = scalarOf(v, mac.inputs[6], mac, 1, 'y_scale');
    const bs = toNumbers(constOf(v, mac.inputs[4], mac));
    const ratio = Array.from({ length: rows }, (_, n) => Math.fround(Math.fround(as * bs[bs.length === 1 ? 0 : n]) / ys));
    chain.pushConst('Mul', [makeTensor('float32', [rows], ratio)], `${mac.name}_ratio`);
    chain.pushConst('QuantizeLinear', [makeTensor('float32', [], [1]), constOf(v, mac.inputs[7], mac)], `${mac.name}_requant`);
  }
}

/** MatMul / Gemm / QOperator weights, columns in the stream order of the input vector. */
function matrixWeights(v: GraphView, mac: Node, input: InSide, notes: string[]): MacWeights {
  let transB = 0;
  if (mac.op === 'Gemm') {
    if (attrInt(mac, 'transA', 0) !== 0) throw new KilnError(cannotLower(mac, 'transA = 1', { rule: 'matmul', fix: 'transpose the input before the Gemm (transA = 0)' }));
    transB = attrInt(mac, 'transB', 0);
  }
  const iw = INTEGER_MACS.has(mac.op) ? qoperatorWeights(v, mac) : integerWeights(v, mac.inputs[1], mac, notes);
  if (iw.shape.length !== 2) throw new KilnError(cannotLower(mac, `weights of rank ${iw.shape.length}, not 2`, { rule: 'matmul', fix: 'use 2-D weights [K, N]' }));
  const [d0, d1] = iw.shape;
  const rows = transB ? d0 : d1;
  const cols = transB ? d1 : d0;
  if (cols !== input.elems && !Number.isNaN(input.elems)) throw new KilnError(cannotLower(mac, `takes ${cols} inputs but the stream carries ${input.elems}`, { rule: 'matmul', fix: 'make the weights\' input dimension match the incoming vector' }));
  // Column c of the model's vector arrives at stream position pos[c] (e.g. an NCHW flatten of an NHWC stream).
  const pos = input.positions.get(mac.inputs[0]);
  const at = pos && pos.length === cols ? pos : identityPositions(cols);
  const W = new Array<number>(rows * cols);
  const sw = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = transB ? r * cols + c : c * rows + r;
      W[r * cols + at[c]] = iw.w[i];
      if (c === 0) sw[r] = iw.s[i];
      else if (iw.s[i] !== sw[r]) throw new KilnError(cannotLower(mac, 'weight scale varies along the input dimension', { rule: 'matmul', fix: 'quantize the weights with one scale per output column' }));
    }
  }
  return { rows, cols, W, sw, unit: 'mvu' };
}
