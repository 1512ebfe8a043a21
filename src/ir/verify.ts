// Structural checks on a Graph. Every problem is collected so one run reports all of them.
import { Code, KilnError, type Diagnostic } from '../diag/index.ts';
import type { AttrValue, Graph, Node } from './graph.ts';

/** Attributes whose kind ONNX fixes for every op that has them (a sanity check on hand-made graphs). */
const ATTR_KINDS: Record<string, AttrValue['kind'][]> = {
  kernel_shape: ['ints'], pads: ['ints'], strides: ['ints'], dilations: ['ints'], perm: ['ints'],
  output_padding: ['ints'], group: ['int'], transA: ['int'], transB: ['int'], keepdims: ['int'],
  epsilon: ['float'], alpha: ['float'], beta: ['float'], auto_pad: ['string'],
};
/** Attributes that must hold non-negative integers when present. */
const NON_NEGATIVE = new Set(['kernel_shape', 'pads', 'dilations', 'group', 'transA', 'transB']);
const POSITIVE = new Set(['kernel_shape', 'strides', 'dilations', 'group']);

function attrProblems(n: Node): Diagnostic[] {
  const out: Diagnostic[] = [];
  const bad = (message: string) => out.push({ code: Code.BadAttribute, message, node: n.name });
  for (const [k, a] of Object.entries(n.attrs)) {
    const kinds = ATTR_KINDS[k];
    // A single int for a list attribute is tolerated by the accessors (old exporters write that).
    if (kinds && !kinds.includes(a.kind) && !(kinds[0] === 'ints' && a.kind === 'int') && !(kinds[0] === 'float' && a.kind === 'int')) {
      bad(`attribute '${k}' of ${n.op} must be ${kinds[0] === 'ints' ? 'a list of ints' : kinds[0] === 'int' ? 'an int' : `a ${kinds[0]}`}, not ${a.kind}`);
      continue;
    }
    if (a.kind === 'int' || a.kind === 'ints') {
      const vals = a.kind === 'int' ? [a.v] : a.v;
      if (vals.some((v) => !Number.isInteger(v))) bad(`attribute '${k}' of ${n.op} must hold integers, not [${vals.join(',')}]`);
      else if (POSITIVE.has(k) && vals.some((v) => v < 1)) bad(`attribute '${k}' of ${n.op} must be positive, not [${vals.join(',')}]`);
      else if (NON_NEGATIVE.has(k) && vals.some((v) => v < 0)) bad(`attribute '${k}' of ${n.op} must be non-negative, not [${vals.join(',')}]`);
    }
  }
  return out;
}

/**
 * Nodes in an order where every node comes after the producers of its inputs (stable: keeps the
 * given order where it already is one). Returns the nodes left on a cycle when there is one.
 */
export function topologicalOrder(g: Graph): { order: Node[]; cyclic: Node[] } {
  const producerIdx = new Map<string, number>();
  g.nodes.forEach((n, i) => n.outputs.forEach((o) => o !== '' && !producerIdx.has(o) && producerIdx.set(o, i)));
  const deps = g.nodes.map((n) => new Set(n.inputs.filter((i) => producerIdx.has(i)).map((i) => producerIdx.get(i)!)));
  const users: number[][] = g.nodes.map(() => []);
  deps.forEach((ds, i) => ds.forEach((d) => users[d].push(i)));
  const remaining = deps.map((d) => d.size);
  // Kahn's algorithm with a min-heap-free "ready" list kept sorted by original index.
  const ready: number[] = [];
  remaining.forEach((r, i) => r === 0 && ready.push(i));
  const order: Node[] = [];
  const done = new Set<number>();
  while (ready.length) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    done.add(i);
    order.push(g.nodes[i]);
    for (const u of users[i]) if (--remaining[u] === 0) ready.push(u);
  }
  return { order, cyclic: g.nodes.filter((_, i) => !done.has(i)) };
}

/** A node that lies on a cycle (not merely downstream of one), among the nodes left by Kahn. */
function nodeOnCycle(g: Graph, left: Node[]): Node {
  const prod = new Map<string, Node>();
  for (const n of left) for (const o of n.outputs) if (o !== '') prod.set(o, n);
  // Walk backwards through producers inside the leftover set; the walk must revisit a node.
  let cur = left[0];
  const seen = new Set<Node>();
  while (!seen.has(cur)) {
    seen.add(cur);
    const next = cur.inputs.map((i) => prod.get(i)).find((p) => p !== undefined);
    if (!next) break;
    cur = next;
  }
  return cur;
}

/** All structural problems of g (empty when it is well formed). */
export function verifyGraph(g: Graph): Diagnostic[] {
  const diags: Diagnostic[] = [];
  const defined = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name)]);
  const producedBy = new Map<string, Node>();
  const nodeNames = new Set<string>();
  for (const n of g.nodes) {
    if (nodeNames.has(n.name)) diags.push({ code: Code.MalformedModel, message: `two nodes are named '${n.name}'` });
    nodeNames.add(n.name);
    for (const o of n.outputs) {
      if (o === '') continue;
      const other = producedBy.get(o);
      if (other) diags.push({ code: Code.MalformedModel, message: `tensor '${o}' is produced twice (also by node '${other.name}')`, node: n.name });
      else if (defined.has(o)) diags.push({ code: Code.MalformedModel, message: `tensor '${o}' is produced by a node but is also ${g.initializers.has(o) ? 'an initializer' : 'a graph input'}`, node: n.name });
      producedBy.set(o, n);
    }
    diags.push(...attrProblems(n));
  }
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (i !== '' && !defined.has(i) && !producedBy.has(i)) {
        diags.push({ code: Code.DanglingTensor, message: `tensor '${i}' used by ${n.op} is not produced by any node, initializer or graph input`, node: n.name });
      }
    }
  }
  for (const o of g.outputs) {
    if (!defined.has(o.name) && !producedBy.has(o.name)) {
      diags.push({ code: Code.DanglingTensor, message: `graph output '${o.name}' is not produced by any node, initializer or graph input` });
    }
  }
  const { cyclic } = topologicalOrder(g);
  if (cyclic.length > 0) {
    const on = nodeOnCycle(g, cyclic);
    diags.push({ code: Code.GraphCycle, message: `the graph has a cycle through ${on.op} (${cyclic.length} nodes cannot be ordered)`, node: on.name });
  } else {
    // Acyclic: then the given order must already be a topological one.
    const seen = new Set(defined);
    for (const n of g.nodes) {
      const early = n.inputs.find((i) => i !== '' && producedBy.has(i) && !seen.has(i));
      if (early !== undefined) {
        diags.push({ code: Code.MalformedModel, message: `nodes are not in topological order: input '${early}' is produced later (by node '${producedBy.get(early)!.name}')`, node: n.name });
        break;
      }
      for (const o of n.outputs) seen.add(o);
    }
  }
  return diags;
}

/** Throws every structural problem of g at once. */
export function assertValidGraph(g: Graph): void {
  const diags = verifyGraph(g);
  if (diags.length) throw new KilnError(diags);
}

/** Puts g's nodes into topological order in place; a cycle is a KLN1006 error naming a node on it. */
export function sortNodes(g: Graph): void {
  const { order, cyclic } = topologicalOrder(g);
  if (cyclic.length > 0) {
    const on = nodeOnCycle(g, cyclic);
    throw new KilnError({ code: Code.GraphCycle, message: `the graph has a cycle through ${on.op} (${cyclic.length} nodes cannot be ordered)`, node: on.name });
  }
  g.nodes = order;
}
