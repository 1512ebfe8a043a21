// Dead-code elimination: drop nodes and initializers nothing needs, and annotations of tensors
// that no longer exist.
import type { Graph, Node } from '../ir/graph.ts';
import type { Pass } from './pass.ts';

export const dce: Pass = {
  name: 'dce',
  run(g: Graph): boolean {
    let changed = false;
    const needed = new Set(g.outputs.map((o) => o.name));
    const kept: Node[] = [];
    // Walk backwards: a node is live when something live (or a graph output) reads one of its outputs.
    for (let i = g.nodes.length - 1; i >= 0; i--) {
      const n = g.nodes[i];
      if (n.outputs.some((o) => o !== '' && needed.has(o))) {
        kept.push(n);
        for (const x of n.inputs) if (x !== '') needed.add(x);
      } else {
        changed = true;
      }
    }
    g.nodes = kept.reverse();
    const removed = new Set<string>();
    for (const name of [...g.initializers.keys()]) {
      if (needed.has(name)) continue;
      g.initializers.delete(name);
      removed.add(name);
      changed = true;
    }
    // An initializer that old exporters also list as a graph input goes with it; real inputs stay.
    g.inputs = g.inputs.filter((i) => !removed.has(i.name));
    const exists = new Set<string>([...g.initializers.keys(), ...g.inputs.map((i) => i.name), ...g.outputs.map((o) => o.name)]);
    for (const n of g.nodes) for (const o of n.outputs) exists.add(o);
    for (const k of [...g.valueInfo.keys()]) if (!exists.has(k)) g.valueInfo.delete(k);
    for (const k of [...g.qtypes.keys()]) if (!exists.has(k)) g.qtypes.delete(k);
    return changed;
  },
};
