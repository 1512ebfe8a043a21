// Fixed batch size 1. Some exporters declare the batch dimension as a symbol ('N') or as the size
// of the whole data set they traced with (789444); kiln compiles streaming hardware that takes one
// sample at a time, so dimension 0 of such inputs becomes 1, and so does every declared shape and
// Reshape constant that mentions the old batch in dimension 0.
import { consumers, runtimeInputs, type Dim, type Graph, type ValueInfo } from '../ir/graph.ts';
import { cloneTensor, toNumbers } from '../ir/tensor.ts';
import type { Pass } from './pass.ts';

/** A declared numeric batch above this is taken as "the data set size", not a real batch. */
export const ABSURD_BATCH = 1024;

function isOddBatch(d: Dim | undefined): boolean {
  return typeof d === 'string' || (typeof d === 'number' && d > ABSURD_BATCH);
}

export const fixBatch: Pass = {
  name: 'fix-batch',
  run(g: Graph): boolean {
    const old = new Set<Dim>();
    for (const i of runtimeInputs(g)) {
      if (i.shape && i.shape.length > 0 && isOddBatch(i.shape[0])) {
        old.add(i.shape[0]);
        i.shape = [1, ...i.shape.slice(1)];
      }
    }
    if (old.size === 0) return false;
    const fix = (v: ValueInfo) => {
      if (v.shape && v.shape.length > 0 && old.has(v.shape[0])) v.shape = [1, ...v.shape.slice(1)];
    };
    g.outputs.forEach(fix);
    g.valueInfo.forEach(fix);
    // Reshape targets like [789444, -1] were traced with the old batch baked in.
    const uses = consumers(g);
    for (const n of g.nodes) {
      if (n.op !== 'Reshape' || !n.inputs[1]) continue;
      const t = g.initializers.get(n.inputs[1]);
      if (!t || t.shape.length !== 1 || t.shape[0] === 0 || !old.has(toNumbers(t)[0])) continue;
      const copy = cloneTensor(t);
      (copy.data as Float64Array)[0] = 1;
      if ((uses.get(n.inputs[1]) ?? []).length === 1) g.initializers.set(n.inputs[1], copy);
      else {
        const name = `${n.inputs[1]}_batch1`;
        g.initializers.set(name, copy);
        n.inputs[1] = name;
      }
    }
    return true;
  },
};
