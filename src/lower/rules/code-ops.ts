// Rule code-ops: MaxPool and Pad act on activation codes, the code model unchanged. Max commutes with
// a non-decreasing quantizer, so a MaxPool before the quantizer moves after it when only
// non-decreasing ops lie between; padding fills with the code of the pad value.
import { KilnError } from '../../diag/index.ts';
import { attrFloat, attrInts, type Node } from '../../ir/graph.ts';
import { toNumbers } from '../../ir/tensor.ts';
import { CODE_OPS, LAYOUT, MAX_POOLS, NON_DECREASING } from '../ops.ts';
import type { CodeModel, CodeOp } from '../plan.ts';
import { padAmounts, poolKernel, window2d, type Window2d } from '../spatial.ts';
import { constOf, lastActivation } from '../support.ts';
import { cannotLower, type GraphView } from '../view.ts';
import { imageInput } from './layout.ts';
import { runtimeFirst, type LoweringRule } from './rule.ts';

export const codeOpsRule: LoweringRule = {
  name: 'code-ops',
  doc: 'MaxPool and constant Pad run on the codes of the quantizer before them (max commutes with a non-decreasing quantizer).',
  matches: 'MaxPool (any kernel/stride/dilation/pads, ceil_mode as extra end padding; before its quantizer when only Relu/Clip/quantizers lie between; with no quantizer, on the codes of an increasing integer map of the sum), GlobalMaxPool, Pad (constant mode, pad value on the code grid)',
  emits: 'MaxPool and Pad stream layers (pads filled with the smallest code / the pad value\'s code); GlobalMaxPool: one MaxPool window over the stream, no SlidingWindow',
  tests: ['test/e2e/cnn-models.test.ts', 'test/passes/streamline-passes.test.ts', 'test/generality/variants.test.ts'],
  ops: CODE_OPS,
  operand: runtimeFirst('weights must be the second input, the run-time vector the first'),
};

/**
 * Splits the nodes after a layer into its float chain and the code ops that act after the chain's
 * activation (a MaxPool before the quantizer moves after it when everything between is non-decreasing).
 */
export function splitCodeOps(chainNodes: Node[]): { chain: Node[]; code: Node[] } {
  const qi0 = lastActivation(chainNodes);
  const chainPart = qi0 >= 0 ? chainNodes.slice(0, qi0 + 1) : chainNodes;
  const codeNodes: Node[] = [];
  const chainOnly: Node[] = [];
  chainPart.forEach((n, i) => {
    if (!CODE_OPS.has(n.op)) return void chainOnly.push(n);
    // No quantizer: a MaxPool runs on the sum's codes, an increasing integer map of the values
    // (rules integer-composition and output check that it increases).
    if (!MAX_POOLS.has(n.op)) throw new KilnError(cannotLower(n, qi0 < 0 ? `${n.op} of an unquantized tensor` : 'Pad before the activation quantizer', { rule: 'code-ops', fix: qi0 < 0 ? `quantize the tensor before the ${n.op}` : 'move the Pad after the activation quantizer' }));
    const bad = chainPart.slice(i + 1).find((m) => !NON_DECREASING.has(m.op) && !LAYOUT.has(m.op) && !CODE_OPS.has(m.op));
    if (bad) throw new KilnError(cannotLower(n, `${n.op} before '${bad.name}' (${bad.op}), which may be decreasing: max does not commute with it`, { rule: 'code-ops', fix: `move the ${n.op} after '${bad.name}', or use only non-decreasing ops between it and the quantizer` }));
    codeNodes.push(n);
  });
  if (qi0 >= 0) codeNodes.push(...chainNodes.slice(qi0 + 1).filter((n) => CODE_OPS.has(n.op)));
  return { chain: [...chainOnly, ...(qi0 >= 0 ? chainNodes.slice(qi0 + 1).filter((n) => !CODE_OPS.has(n.op)) : [])], code: codeNodes };
}

/** MaxPool / Pad nodes acting on codes of model `m` whose smallest code is `lowest`. */
export function codeOps(v: GraphView, nodes: Node[], m: CodeModel, lowest: number, positions: Map<string, Int32Array>): CodeOp[] {
  return nodes.map((n): CodeOp => {
    const dims = imageInput(v, n, positions);
    if (!(m.s > 0)) throw new KilnError(cannotLower(n, `${n.op} on codes with a non-positive scale ${m.s}`, { rule: 'code-ops', fix: 'give the quantizer before it a positive scale' }));
    if (n.op === 'GlobalMaxPool') {
      const [C, H, W] = dims;
      const window: Window2d = { ih: H, iw: W, channels: C, kh: H, kw: W, sh: 1, sw: 1, dh: 1, dw: 1, pads: [0, 0, 0, 0], oh: 1, ow: 1 };
      return { op: 'maxpool', origin: n.name, window, padCode: lowest, global: true };
    }
    if (n.op === 'MaxPool') {
      if (n.outputs.length > 1 && n.outputs[1]) throw new KilnError(cannotLower(n, 'the Indices output', { rule: 'code-ops', fix: 'use the MaxPool without its Indices output' }));
      // ONNX pads MaxPool with −∞; the smallest code never wins a window that overlaps the image.
      return { op: 'maxpool', origin: n.name, window: window2d(n, dims, poolKernel(n)), padCode: lowest };
    }
    const mode = n.attrs.mode?.kind === 'string' ? n.attrs.mode.v : 'constant';
    if (mode !== 'constant') throw new KilnError(cannotLower(n, `mode ${mode} (only constant padding)`, { rule: 'code-ops', fix: 'use constant padding' }));
    if (n.inputs[3]) throw new KilnError(cannotLower(n, 'the axes input', { rule: 'code-ops', fix: 'give pads for every axis (no axes input)' }));
    const pads = n.inputs[1] ? toNumbers(constOf(v, n.inputs[1], n)) : attrInts(n, 'pads', []);
    const value = n.inputs[2] ? toNumbers(constOf(v, n.inputs[2], n))[0] ?? 0 : attrFloat(n, 'value', 0);
    const code = value / m.s + m.z;
    if (!Number.isInteger(code)) throw new KilnError(cannotLower(n, `pad value ${value} is not a code of its stream (scale ${m.s}, zero point ${m.z})`, { rule: 'code-ops', fix: 'pad with a value on the stream\'s grid (e.g. 0)' }));
    return { op: 'pad', origin: n.name, ih: dims[1], iw: dims[2], channels: dims[0], pads: padAmounts(n, pads, 4), padCode: code };
  });
}
