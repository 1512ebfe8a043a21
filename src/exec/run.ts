// The ONNX-level reference executor: runs a Graph node by node with exact ONNX semantics.
import { fail, KilnError } from '../diag/index.ts';
import { qualifiedOp, runtimeInputs, type Graph } from '../ir/graph.ts';
import { checkFinite, type Tensor } from '../ir/tensor.ts';
import type { OpImpl } from './op-types.ts';
import { lookupOp } from './registry.ts';

export interface RunOptions {
  /** Also return these intermediate tensors (by name). */
  keep?: string[];
}

/** Every node whose op kiln cannot execute, all at once (KLN1003 each). */
export function unsupportedNodes(g: Graph): KilnError | undefined {
  const diags = g.nodes
    .filter((n) => lookupOp(n) === undefined)
    .map((n) => ({ code: 'KLN1003', message: `unsupported ONNX op '${qualifiedOp(n)}'`, node: n.name }));
  return diags.length ? new KilnError(diags) : undefined;
}

/**
 * Run g on the given inputs (by graph input name). Returns the graph outputs (and `keep` tensors).
 * Nodes must be in topological order (the verifier checks this).
 */
export function runGraph(g: Graph, feeds: Map<string, Tensor>, opts: RunOptions = {}): Map<string, Tensor> {
  const unsupported = unsupportedNodes(g);
  if (unsupported) throw unsupported;
  const env = new Map<string, Tensor>(g.initializers);
  for (const i of runtimeInputs(g)) {
    const t = feeds.get(i.name);
    if (!t) fail('InputMismatch', `no value given for graph input '${i.name}'`);
    checkFinite(t, `graph input '${i.name}'`);
    env.set(i.name, t);
  }
  // Free intermediates after their last use to keep memory flat on big models.
  const lastUse = new Map<string, number>();
  g.nodes.forEach((n, idx) => n.inputs.forEach((i) => lastUse.set(i, idx)));
  const keep = new Set([...g.outputs.map((o) => o.name), ...(opts.keep ?? [])]);
  const ctx = { opset: g.opsets[''] ?? 13 };
  g.nodes.forEach((n, idx) => {
    const impl = lookupOp(n) as OpImpl;
    const ins = n.inputs.map((name) => {
      if (name === '') return undefined;
      const t = env.get(name);
      if (!t) fail('DanglingTensor', `input '${name}' of ${n.op} is not produced by any node, initializer or graph input`, n.name);
      return t;
    });
    let outs: Tensor[];
    try {
      outs = impl(n, ins, ctx);
    } catch (e) {
      if (e instanceof KilnError && e.diagnostics.every((d) => d.node === undefined)) {
        throw new KilnError(e.diagnostics.map((d) => ({ ...d, node: n.name })));
      }
      throw e;
    }
    n.outputs.forEach((o, k) => {
      if (o !== '' && outs[k]) env.set(o, outs[k]);
    });
    for (const i of n.inputs) if (lastUse.get(i) === idx && !keep.has(i) && !g.initializers.has(i)) env.delete(i);
  });
  const result = new Map<string, Tensor>();
  for (const name of keep) {
    const t = env.get(name);
    if (!t) fail('DanglingTensor', `graph output '${name}' is not produced by any node`);
    result.set(name, t);
  }
  return result;
}
