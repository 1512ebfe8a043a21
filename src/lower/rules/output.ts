// Rule output: the last layer's integers go back to the model's floats on the host — through its last
// quantizer's code model, or an affine map of the sum when only affine ops follow it; a monotone tail
// (Softmax) is dropped (the host may apply it; argmax is unchanged).
import { KilnError, type Diagnostic } from '../../diag/index.ts';
import type { Node } from '../../ir/graph.ts';
import { AFFINE, LAYOUT, TAIL } from '../ops.ts';
import { cannotLower, inRule, type GraphView } from '../view.ts';
import { codeOps } from './code-ops.ts';
import { runtimeFirst, type LayerCtx, type LayerResult, type LoweringRule } from './rule.ts';
import { mvuOutType } from '../../layers/mvu.ts';
import { weightQType } from './integer-weights.ts';

export const outputRule: LoweringRule = {
  name: 'output',
  doc: 'The last layer\'s codes become the model\'s floats on the host (its quantizer\'s scale, or an affine map); a trailing Softmax is dropped.',
  matches: 'the graph end: a quantizer, affine ops (Add/Sub/Mul/Div/Neg/BatchNormalization, Gemm bias) after the last sum, Softmax / LogSoftmax last',
  emits: 'the host OutputAffine (scale, offset, element order); dropped tail ops listed in the plan',
  tests: ['test/passes/streamline-passes.test.ts', 'test/e2e/mlp-models.test.ts'],
  ops: TAIL,
  operand: runtimeFirst('its run-time input must be the first'),
};

/** Drops a monotone tail (Softmax) after the last layer's chain: where the lowered path ends, and the tensor the output affine reproduces. */
export function dropTail(v: GraphView, lastMac: number, notes: string[], problems: Diagnostic[]): { end: number; dropped: string[]; outputTensor: string } {
  const path = v.path;
  let end = path.length;
  let j = path.length;
  while (j > lastMac + 1 && (TAIL.has(path[j - 1].op) || LAYOUT.has(path[j - 1].op))) j--;
  const dropped = path.slice(j).filter((n) => TAIL.has(n.op)).map((n) => n.name);
  if (dropped.length) end = j;
  for (let i = 0; i < end; i++) if (TAIL.has(path[i].op)) problems.push(cannotLower(path[i], 'Softmax is only lowered as the last op', { rule: 'output', fix: 'move the Softmax to the end of the graph, or drop it' }));
  if (dropped.length) notes.push(`dropped ${dropped.join(', ')} at the output (monotone: the host may apply it; argmax is unchanged)`);
  const outputTensor = end === path.length ? v.output : path[end - 1].outputs[0];
  return { end, dropped, outputTensor };
}

/** The last layer without a quantizer after it: its output is the affine map of the sum, on the host. */
export function outputAffine(ctx: LayerCtx): LayerResult {
  const { mac, chainNodes, mw, input } = ctx;
  const af = ctx.chain.affine(ctx.alpha, ctx.beta);
  const accType = mvuOutType(mw.rows, mw.cols, input.type, mw.W);
  const plan = { mac: mac.name, origin: ctx.origin, rows: mw.rows, cols: mw.cols, weights: mw.W, weightType: weightQType(mw.W), inType: input.type, accType, act: { kind: 'none' as const }, ...ctx.unitFields };
  if (!af) throw new KilnError(cannotLower(chainNodes.find((n: Node) => !LAYOUT.has(n.op) && !AFFINE.has(n.op)) ?? mac, 'the last layer must end in a quantizer or in affine ops only', { rule: 'output', fix: 'end the model in a quantizer, or in affine ops only (Add/Mul/BatchNormalization), after the last layer' }));
  // MaxPools on the raw sum (rule code-ops) commute with y = a·acc + b only where every a > 0.
  const neg = af.a.findIndex((a) => !(a > 0));
  if (ctx.codeNodes.length && neg >= 0) throw new KilnError(cannotLower(ctx.codeNodes[0], `${ctx.codeNodes[0].op} of an unquantized sum whose scale in row ${neg} is ${af.a[neg]} (max commutes only with a positive scale)`, { rule: 'code-ops', fix: `quantize the tensor before the ${ctx.codeNodes[0].op}` }));
  const lowest = Math.min(...Array.from({ length: mw.rows }, (_, r) => ctx.accRange(mw.W, r).lo));
  const after = ctx.codeNodes.length ? inRule('code-ops', () => codeOps(ctx.v, ctx.codeNodes, { s: 1, z: 0 }, lowest, input.positions)) : [];
  return { plan, affine: { scale: af.a, offset: af.b }, after };
}
