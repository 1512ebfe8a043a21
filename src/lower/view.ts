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

export function cannotLower(n: Node, reason?: string): Diagnostic {
  return { code: Code.CannotLower, message: `cannot lower op '${qualifiedOp(n)}'${reason ? ` (${reason})` : ''}`, node: n.name };
}

/**
 * Builds the view. `allowed(n)` classifies path nodes; every path node that is not allowed or is
 * not part of a single chain is reported, all at once (KLN2001). With `branches`, the path may fan
 * out and join again at two-input Adds (residual blocks); `path` is then in topological order.
 */
export function viewGraph(g: Graph, allowed: (n: Node, dynIndex: number) => string | undefined, opts: { branches?: boolean } = {}): GraphView {
  const problems: Diagnostic[] = [];
  const ins = runtimeInputs(g);
  if (ins.length !== 1) throw new KilnError({ code: Code.CannotLower, message: `cannot lower a graph with ${ins.length} run-time inputs (dataflow lowering takes exactly one)` });
  if (g.outputs.length !== 1) throw new KilnError({ code: Code.CannotLower, message: `cannot lower a graph with ${g.outputs.length} outputs (dataflow lowering takes exactly one)` });
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
    if (d.length > 1 && !(opts.branches && (n.op === 'Add' || n.op === 'Concat') && d.length === 2)) problems.push(cannotLower(n, 'more than one run-time input: only chains of layers lower to dataflow'));
  }
  // The path must be one chain from the input to the output.
  let cur = input;
  for (const n of path) {
    const reason = allowed(n, dynIndex.get(n)!);
    if (reason !== undefined) problems.push(cannotLower(n, reason || undefined));
    if (!opts.branches && n.inputs[dynIndex.get(n)!] !== cur) problems.push(cannotLower(n, `branches off tensor '${n.inputs[dynIndex.get(n)!]}': only chains of layers lower to dataflow`));
    cur = n.outputs[0];
  }
  if (problems.length === 0 && cur !== output && !(opts.branches && dynamic.has(output))) {
    throw new KilnError({ code: Code.CannotLower, message: `cannot lower: graph output '${output}' is not the end of the data path ('${cur}')` });
  }
  if (problems.length) throw new KilnError(dedupe(problems));

  // One run on zeros (batch 1) gives every constant's value and every tensor's shape.
  const vi = ins[0];
  if (vi.dtype !== undefined && !isFloat(vi.dtype)) {
    throw new KilnError({ code: Code.CannotLower, message: `cannot lower a graph whose input '${input}' is ${vi.dtype}, not float` });
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
