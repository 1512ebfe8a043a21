// Streamlining (FINN style, exact): a quantized graph becomes an integer plan — per layer an integer
// weight matrix with its datatype, and an integer activation function (thresholds or a fixed-point
// requantization) that reproduces everything between the integer accumulator and the next
// quantizer's integer code. The input quantizer and the affine that turns the last layer's integers
// back into the model's floats run on the host.
//
// This file is the driver; what lowers, and how, is the rules in src/lower/rules/ (listed in
// src/lower/rules/index.ts, documented in docs/lowering.md): an op on the run-time path lowers only
// if a rule claims it. The driver walks the path: the host boundary (rule host-boundary), then each
// layer (src/passes/streamline-layer.ts: its layer rule — matmul, conv, avgpool, join — then the
// activation, integer-composition or output rule), and for residual graphs the layer DAG
// (src/passes/streamline-branches.ts). Each choice surfaces in StreamlinedMlp.notes when it applies.
//
// The one modelled value is the MAC output itself: with power-of-two scales (QONNX/Brevitas/QKeras)
// float32 sums of exact products are exact, so it equals the ONNX float MatMul; with arbitrary scales
// (QDQ) the ONNX float sum may round differently by an ulp, which can move a code across a rounding tie.
import { Code, KilnError, type Diagnostic } from '../diag/index.ts';
import { int, type QType } from '../ir/datatype.ts';
import type { OutputAffine } from '../ir/dataflow.ts';
import type { Graph, Node } from '../ir/graph.ts';
import { numel } from '../ir/tensor.ts';
import { CODE_OPS, MACS } from '../lower/ops.ts';
import type { CodeOp, LayerPlan, StreamlinedMlp, StreamlineOptions } from '../lower/plan.ts';
import { codeOps } from '../lower/rules/code-ops.ts';
import { lowerHostInput } from '../lower/rules/host-boundary.ts';
import { floatModelRefusal } from '../lower/rules/integer-weights.ts';
import { liftSignals } from '../lower/rules/signal-1d.ts';
import { ruleFor } from '../lower/rules/index.ts';
import { isJoin } from '../lower/rules/join.ts';
import { trackPositions } from '../lower/rules/layout.ts';
import { dropTail } from '../lower/rules/output.ts';
import { identityPositions, samePositions } from '../lower/spatial.ts';
import { cannotLowerGraph, inRule, viewGraph, type Refusal, type Verdict } from '../lower/view.ts';
import { isBranched, lowerBranches } from './streamline-branches.ts';
import { lowerLayer } from './streamline-layer.ts';

export type { Activation, BranchEdge, BranchNode, CodeOp, LayerPlan, StreamlinedMlp, StreamlineOptions } from '../lower/plan.ts';
export { inferGrid, weightQType } from '../lower/rules/integer-weights.ts';

/** Why path node n (run-time input at `dyn`) cannot lower: no rule claims its op, or the claiming rule refuses its operands. */
function classify(n: Node, dyn: number): Verdict {
  const rule = ruleFor(n.op);
  // A Gather from a constant table at the run-time values is a lookup-table activation: out of scope (no LUT layer).
  if (n.op === 'Gather' && dyn === 1) return { reason: 'a lookup-table activation (Gather from a constant table at the run-time codes): kiln has no table layer, activations lower as monotone chains (rule activation)', fix: 'replace the table by the activation it tabulates (Relu, Sigmoid, HardSigmoid, …) before a quantizer' };
  if (!rule) return { reason: 'no lowering rule covers this op (docs/lowering.md lists the rules)', fix: 'replace it with ops a rule covers, or run it on the host before or after the model' };
  const refused = rule.operand?.(n, dyn);
  return refused && { ...refused, rule: rule.name };
}

/** Downstream of a refused layer only refusals that do not depend on the layer's input are causes, not knock-ons. */
const INPUT_INDEPENDENT = new Set(['integer-weights']);

export function streamline(g: Graph, opts: StreamlineOptions = {}): StreamlinedMlp {
  // Rule one-d-signals: 1-D window ops become 2-D ones on [1, C, 1, L] before anything else looks.
  const v = viewGraph(liftSignals(g), classify, { branches: true });
  const notes: string[] = [];
  const problems: Diagnostic[] = [];
  const path = v.path;
  const macIdx = path.map((n, i) => (MACS.has(n.op) ? i : -1)).filter((i) => i >= 0);
  if (macIdx.length === 0) {
    const ops = path.map((n) => n.op).join(' → ') || 'none';
    throw new KilnError(cannotLowerGraph(`nothing to put in hardware: its run-time path (${ops}) has no layer (MatMul, Gemm, Conv or average pooling)`, { rule: 'dataflow-graph', fix: 'run it on the host (`kiln exec`); kiln builds hardware around at least one such layer' }));
  }
  const float = floatModelRefusal(v, opts.source);
  if (float) throw new KilnError(float);

  // Drop a monotone tail (Softmax) after the last MAC's chain (rule output).
  const { end, dropped, outputTensor } = dropTail(v, macIdx[macIdx.length - 1], notes, problems);

  // ---- input quantizer
  // The host side ends at the first layer: a MAC, or a residual join fed straight from the input.
  const firstJoin = path.findIndex((n) => isJoin(v, n));
  const prefix = path.slice(0, firstJoin >= 0 ? Math.min(firstJoin, macIdx[0]) : macIdx[0]);
  const { positions, order } = trackPositions(v);
  const host = inRule('host-boundary', () => lowerHostInput(v, prefix, opts, notes, problems));
  const { inputQuant, qi } = host;
  let inModel = host.model;
  let inCodes = host.codes;
  if (problems.length) throw new KilnError(problems);

  // ---- layers
  const layers: LayerPlan[] = [];
  let inType: QType = inputQuant.qtype;
  if (inputQuant.mode === 'sign') inType = int(2);
  let outputAffine: OutputAffine | undefined;
  const inputElems = numel(v.shapes.get(v.input) ?? [1]);
  let prevElems = inputElems;
  // Code ops (MaxPool, Pad) wait for the next layer; their pad codes widen the code range.
  let pending: CodeOp[] = [];
  const takeOps = (ops: CodeOp[], last: Node | undefined) => {
    pending = ops;
    for (const op of ops) inCodes = [Math.min(inCodes[0], op.padCode), Math.max(inCodes[inCodes.length - 1], op.padCode)];
    if (ops.length && last) prevElems = numel(v.shapes.get(last.outputs[0]) ?? [NaN]);
  };
  try {
    const ops = qi >= 0 ? prefix.slice(qi + 1).filter((n) => CODE_OPS.has(n.op)) : [];
    takeOps(inRule('code-ops', () => codeOps(v, ops, inModel, inCodes[0], positions)), ops[ops.length - 1]);
  } catch (e) {
    if (e instanceof KilnError && e.code === Code.CannotLower) problems.push(...e.diagnostics);
    else throw e;
  }
  if (isBranched(v)) {
    if (problems.length) throw new KilnError(problems);
    const b = lowerBranches(v, { model: inModel, codes: inCodes, type: inType, elems: prevElems, positions }, pending, outputTensor, opts, notes);
    if (order) inputQuant.order = order;
    const outPos = positions.get(outputTensor);
    if (outPos && !samePositions(outPos, identityPositions(outPos.length))) b.outputAffine.order = Array.from(outPos);
    return { name: g.name, inputTensor: v.input, inputElems, inputQuant, layers: b.layers, outputTensor, outputAffine: b.outputAffine, dropped, tail: b.tail, notes, branches: b.nodes };
  }
  let refused = false;
  for (let li = 0; li < macIdx.length; li++) {
    const mac = path[macIdx[li]];
    const last = li === macIdx.length - 1;
    const chainNodes = path.slice(macIdx[li] + 1, last ? end : macIdx[li + 1]);
    try {
      const res = lowerLayer(v, mac, chainNodes, last, { model: inModel, codes: inCodes, type: inType, elems: prevElems, positions }, opts, notes);
      if (pending.length) res.plan.before = pending;
      layers.push(res.plan);
      if (res.next) {
        inModel = res.next.model;
        inCodes = res.next.codes;
        inType = res.next.type;
      }
      prevElems = res.plan.rows * (res.plan.window ? res.plan.window.oh * res.plan.window.ow : 1);
      const ops = chainNodes.filter((n) => CODE_OPS.has(n.op));
      takeOps(res.after, ops[ops.length - 1]);
      if (res.affine) outputAffine = res.affine;
    } catch (e) {
      if (!(e instanceof KilnError && e.code === Code.CannotLower)) throw e;
      // Past a refused layer the input is unknown: only input-independent causes are reported.
      problems.push(...(refused ? e.diagnostics.filter((d) => INPUT_INDEPENDENT.has((d as Refusal).rule ?? '')) : e.diagnostics));
      refused = true;
      prevElems = NaN;
      pending = [];
    }
  }
  if (problems.length) throw new KilnError(problems);
  if (order) inputQuant.order = order;
  // The host puts output codes back into the model's element order (an NCHW conv output, say).
  const outPos = positions.get(outputTensor);
  if (outputAffine && outPos && !samePositions(outPos, identityPositions(outPos.length))) outputAffine.order = Array.from(outPos);
  return {
    name: g.name,
    inputTensor: v.input,
    inputElems,
    inputQuant,
    layers,
    outputTensor,
    outputAffine: outputAffine!,
    dropped,
    tail: pending,
    notes,
  };
}
