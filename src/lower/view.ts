// A lowering-oriented view of an ONNX graph: which tensors are constants (and their values), the
// shape of every tensor at batch 1, and the chain of nodes the run-time data flows through.
// Constants are found by one run of the reference executor on a zero input, so every constant
// subgraph (flatten Shape/Gather/Concat, weight quantizers, …) is evaluated with exact ONNX
// semantics without rewriting the graph.
import { Code, KilnError, type Diagnostic } from '../diag/index.ts';
import { runGraph } from '../exec/run.ts';
import { producers, qualifiedOp, runtimeInputs, type Graph, type Node } from '../ir/graph.ts';
import { isFloat, makeTensor, type Tensor } from '../ir/tensor.ts';

/** Ops whose output does not depend on the input's values, only on its (fixed) shape. */
const SHAPE_ONLY = new Set(['Shape', 'Size']);

export interface GraphView {
  g: Graph;
  /** Every tensor that does not depend on the run-time input, with its value. */
  consts: Map<string, Tensor>;
  /** Every tensor's shape at batch 1. */
  shapes: Map<string, number[]>;
  /** Nodes the run-time data flows through, in order; each has exactly one run-time input. */
  path: Node[];
  /** Index of the run-time input among each path node's inputs. */
  dynIndex: Map<Node, number>;
  input: string;
  output: string;
  producer: Map<string, Node>;
}

/** A refusal of the lowering: the rule that refused (src/lower/rules/), why, and what would make the node lower. */
export interface Refusal extends Diagnostic {
  rule?: string;
  reason?: string;
  fix?: string;
  op?: string;
}

/** The one coded line: `cannot lower op 'Op' (rule <rule>: <reason>; fix: <fix>) at node '<node>'`. */
export function cannotLower(n: Node, reason?: string, how: { rule?: string; fix?: string } = {}): Refusal {
  const op = qualifiedOp(n);
  return { code: Code.CannotLower, message: refusalMessage(`cannot lower op '${op}'`, reason, how.rule, how.fix), node: n.name, op, reason, ...how };
}

/** A refusal of the graph as a whole (no one node): `cannot lower the graph (rule <rule>: <reason>; fix: <fix>)`. */
export function cannotLowerGraph(reason: string, how: { rule: string; fix: string }): Refusal {
  return { code: Code.CannotLower, message: refusalMessage('cannot lower the graph', reason, how.rule, how.fix), reason, ...how };
}

function refusalMessage(head: string, reason: string | undefined, rule: string | undefined, fix: string | undefined): string {
  const body = [rule ? `rule ${rule}: ${reason ?? 'refused'}` : reason, fix ? `fix: ${fix}` : undefined].filter(Boolean).join('; ');
  return `${head}${body ? ` (${body})` : ''}`;
}

/** d with `rule` named when it names none yet (a shared helper's refusal, inside a rule's step). */
export function underRule(d: Diagnostic, rule: string): Diagnostic {
  const r = d as Refusal;
  if (r.code !== Code.CannotLower || r.rule || r.op === undefined) return d;
  const tagged: Refusal = { ...r, rule, message: refusalMessage(`cannot lower op '${r.op}'`, r.reason, rule, r.fix) };
  return tagged;
}

/** Runs a rule's step: a KilnError it throws names the rule. */
export function inRule<T>(rule: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KilnError && e.code === Code.CannotLower) throw new KilnError(e.diagnostics.map((d) => underRule(d, rule)));
    throw e;
  }
}

/**
 * Builds the view. `allowed(n)` classifies path nodes; every path node that is not allowed or is
 * not part of a single chain is reported, all at once (KLN2001). With `branches`, the path may fan
 * out and join again at two-input Adds (residual blocks); `path` is then in topological order.
 */
/** Why a path node cannot lower (undefined: it may): the reason, and the rule and fix when known. */
export type Verdict = string | { reason: string; rule?: string; fix?: string } | undefined;

/** Operand slots that hold quantization parameters (scale, zero point, bit width), by op. */
const PARAMETER_SLOTS: Record<string, number[]> = {
  Quant: [1, 2, 3], IntQuant: [1, 2, 3], BipolarQuant: [1], QuantizeLinear: [1, 2], DequantizeLinear: [1, 2],
  QLinearConv: [1, 2, 4, 5, 6, 7], QLinearMatMul: [1, 2, 4, 5, 6, 7], QLinearAdd: [1, 2, 4, 5, 6, 7], QLinearMul: [1, 2, 4, 5, 6, 7],
  MatMulInteger: [2, 3], ConvInteger: [2, 3],
};
/** Operand slots that hold a MAC's weights or bias, by op. */
const WEIGHT_SLOTS: Record<string, number[]> = {
  MatMul: [1], Gemm: [1, 2], Conv: [1, 2], QLinearConv: [3, 8], QLinearMatMul: [3], MatMulInteger: [1], ConvInteger: [1],
};

/**
 * Why a graph with several run-time inputs does not lower, by what each input is: quantization
 * parameters or weights given as graph inputs (ONNX operator tests do this) need to be constants;
 * several data inputs are several streams.
 */
function runtimeInputsReason(g: Graph, names: string[]): { reason: string; fix: string } {
  const role = (name: string): 'parameter' | 'weights' | 'data' => {
    const uses = g.nodes.flatMap((n) => n.inputs.map((x, k) => (x === name ? { op: n.op, k } : undefined)).filter((u) => u !== undefined));
    if (uses.length > 0 && uses.every((u) => PARAMETER_SLOTS[u.op]?.includes(u.k))) return 'parameter';
    if (uses.length > 0 && uses.every((u) => WEIGHT_SLOTS[u.op]?.includes(u.k))) return 'weights';
    return 'data';
  };
  const by = (r: string) => names.filter((x) => role(x) === r).map((x) => `'${x}'`);
  const [params, weights, data] = [by('parameter'), by('weights'), by('data')];
  const constants = [params.length ? `quantization parameters ${params.join(', ')}` : '', weights.length ? `weights ${weights.join(', ')}` : ''].filter(Boolean).join(' and ');
  if (data.length <= 1 && constants) {
    return { reason: `its ${constants} are run-time graph inputs, not constants (hardware fixes them at compile time; ${names.length} run-time inputs, one data input ${data.join('')})`, fix: 'make them initializers (constants) of the model' };
  }
  return {
    reason: `it has ${data.length} run-time data inputs (${data.join(', ')}; dataflow lowering takes exactly one)${constants ? `, and its ${constants} are run-time graph inputs, not constants` : ''}`,
    fix: 'export the model with one run-time input (make the others initializers)',
  };
}

export function viewGraph(g: Graph, allowed: (n: Node, dynIndex: number) => Verdict, opts: { branches?: boolean } = {}): GraphView {
  const problems: Diagnostic[] = [];
  const ins = runtimeInputs(g);
  if (ins.length !== 1) {
    const { reason, fix } = runtimeInputsReason(g, ins.map((i) => i.name));
    throw new KilnError(cannotLowerGraph(reason, { rule: 'dataflow-graph', fix }));
  }
  if (g.outputs.length !== 1) throw new KilnError(cannotLowerGraph(`it has ${g.outputs.length} outputs (dataflow lowering takes exactly one)`, { rule: 'dataflow-graph', fix: 'export the model with one output' }));
  const input = ins[0].name;
  const output = g.outputs[0].name;

  // Which tensors carry run-time data.
  const dynamic = new Set([input]);
  const path: Node[] = [];
  const dynIndex = new Map<Node, number>();
  for (const n of g.nodes) {
    if (SHAPE_ONLY.has(n.op)) continue;
    const d = n.inputs.map((i, k) => (dynamic.has(i) ? k : -1)).filter((k) => k >= 0);
    if (d.length === 0) continue;
    path.push(n);
    dynIndex.set(n, d[0]);
    for (const o of n.outputs) if (o !== '') dynamic.add(o);
    if (d.length > 1 && !(opts.branches && (n.op === 'Add' || n.op === 'Concat') && d.length === 2)) problems.push(cannotLower(n, 'more than one run-time input: only chains of layers lower to dataflow', { rule: 'dataflow-graph', fix: 'join branches only with a two-input Add or Concat of layer outputs (residual blocks)' }));
  }
  // The path must be one chain from the input to the output.
  let cur = input;
  for (const n of path) {
    const verdict = allowed(n, dynIndex.get(n)!);
    if (typeof verdict === 'string') problems.push(cannotLower(n, verdict || undefined));
    else if (verdict) problems.push(cannotLower(n, verdict.reason, verdict));
    if (!opts.branches && n.inputs[dynIndex.get(n)!] !== cur) problems.push(cannotLower(n, `branches off tensor '${n.inputs[dynIndex.get(n)!]}': only chains of layers lower to dataflow`, { rule: 'dataflow-graph', fix: 'make the data path one chain from the input to the output' }));
    cur = n.outputs[0];
  }
  if (problems.length === 0 && cur !== output && !(opts.branches && dynamic.has(output))) {
    throw new KilnError(cannotLowerGraph(`graph output '${output}' is not the end of the data path ('${cur}')`, { rule: 'dataflow-graph', fix: 'make the graph output the end of the data path (remove dead branches)' }));
  }
  if (problems.length) throw new KilnError(dedupe(problems));

  // One run on zeros (batch 1) gives every constant's value and every tensor's shape.
  const vi = ins[0];
  if (vi.dtype !== undefined && !isFloat(vi.dtype)) {
    throw new KilnError(cannotLowerGraph(`its input '${input}' is ${vi.dtype}, not float`, { rule: 'dataflow-graph', fix: 'declare the input float32 (kiln quantizes it on the host)' }));
  }
  const shape = (vi.shape ?? []).map((d) => (typeof d === 'number' && d > 0 ? d : 1));
  const all = g.nodes.flatMap((n) => n.outputs.filter((o) => o !== ''));
  const env = runGraph(g, new Map([[input, makeTensor('float32', shape)]]), { keep: all });
  const consts = new Map<string, Tensor>(g.initializers);
  const shapes = new Map<string, number[]>([[input, shape]]);
  for (const [k, t] of env) {
    shapes.set(k, t.shape);
    if (!dynamic.has(k)) consts.set(k, t);
  }
  for (const [k, t] of g.initializers) shapes.set(k, t.shape);
  return { g, consts, shapes, path, dynIndex, input, output, producer: producers(g) };
}

function dedupe(ds: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.node}\u0000${d.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
