// Shape inference: fills g.valueInfo with the dtype and shape of every node output (graph outputs
// are updated in g.outputs instead, as ONNX keeps them out of value_info). Per-op rules for the
// supported ops (./shape-rules.ts); ops without a rule are executed on zeros when their inputs are small and known.
import { fail, KilnError } from '../diag/index.ts';
import { lookupOp } from '../exec/registry.ts';
import { tensorType, type Dim, type Graph, type Node, type TensorType, type ValueInfo } from '../ir/graph.ts';
import { makeTensor, numel, type Tensor } from '../ir/tensor.ts';
import type { Pass } from './pass.ts';
import { checkNodeSchema } from './schema-check.ts';
import { isNum, shapeRule } from './shape-rules.ts';

/** Largest input (elements) that shape inference will execute an op on to learn its output shape. */
const EXECUTE_LIMIT = 1 << 20;

/** Ops whose output shape depends on the values of their first input, which zeros would fake. */
const VALUE_SHAPED = new Set(['NonZero', 'Compress', 'ConstantOfShape', 'Range', 'Unique', 'NonMaxSuppression', 'EyeLike']);

/**
 * Output types by running the op on zeros. Only the first input may be replaced by zeros: the
 * others (shapes, scales, pads, k, …) often decide the output shape, so they must be constants.
 */
function byExecution(g: Graph, n: Node, opset: number): TensorType[] | undefined {
  const impl = lookupOp(n);
  if (!impl || VALUE_SHAPED.has(n.op)) return undefined;
  if (n.inputs.slice(1).some((i) => i !== '' && !g.initializers.has(i))) return undefined;
  const ins: (Tensor | undefined)[] = [];
  for (const name of n.inputs) {
    if (name === '') {
      ins.push(undefined);
      continue;
    }
    const c = g.initializers.get(name);
    if (c) {
      ins.push(c);
      continue;
    }
    const ty = tensorType(g, name);
    if (!ty?.shape || !ty.shape.every(isNum) || numel(ty.shape as number[]) > EXECUTE_LIMIT) return undefined;
    ins.push(makeTensor(ty.dtype, ty.shape as number[]));
  }
  try {
    return impl(n, ins, { opset }).map((o) => ({ dtype: o.dtype, shape: o.shape }));
  } catch (e) {
    if (e instanceof KilnError) return undefined; // zeros may be invalid data (e.g. indices); stay unknown
    throw e;
  }
}

function sameType(a: ValueInfo | undefined, b: TensorType): boolean {
  if (!a || a.dtype !== b.dtype) return false;
  if (a.shape === undefined || b.shape === undefined) return a.shape === b.shape;
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape![i]);
}

/** A declared dimension is replaced only by a more precise one (a number for a symbol). */
function merge(declared: Dim[] | undefined, inferred: Dim[] | undefined): Dim[] | undefined {
  if (!inferred) return declared;
  if (!declared || declared.length !== inferred.length) return inferred;
  return inferred.map((d, i) => (isNum(d) ? d : declared[i]));
}

/** Types for n's outputs: the op's rule, else execution on zeros; undefined when unknown. */
export function inferNode(g: Graph, n: Node): TensorType[] | undefined {
  const opset = g.opsets[''] ?? 13;
  try {
    return shapeRule(g, n, opset) ?? byExecution(g, n, opset);
  } catch (e) {
    // A malformed attribute is reported by the executor and the verifier, not here.
    if (e instanceof KilnError) return undefined;
    throw e;
  }
}

export const inferShapes: Pass = {
  name: 'infer-shapes',
  run(g: Graph): boolean {
    let changed = false;
    const outputIdx = new Map(g.outputs.map((o, i) => [o.name, i]));
    for (const n of g.nodes) {
      // Input ranks learnt in this pass can make a window attribute wrong: check before computing.
      checkNodeSchema(g, n);
      const types = inferNode(g, n);
      if (!types) continue;
      n.outputs.forEach((name, k) => {
        const ty = types[k];
        if (name === '' || !ty) return;
        // A rule fed nonsense (a float 'pads' tensor, say) can compute NaN or negative sizes; NaN
        // never equals itself, so the fixpoint with fold-constants would never settle.
        if (ty.shape?.some((d) => isNum(d) && !(Number.isSafeInteger(d) && d >= 0))) {
          fail('MalformedModel', `${n.op} output '${name}' comes out with shape [${ty.shape.join(',')}]: check the node's inputs and attributes`, n.name);
        }
        const oi = outputIdx.get(name);
        if (oi !== undefined) {
          const o = g.outputs[oi];
          const next = { name, dtype: ty.dtype, shape: merge(o.shape, ty.shape) };
          if (!sameType(o, next)) {
            g.outputs[oi] = next;
            changed = true;
          }
          return;
        }
        const old = g.valueInfo.get(name);
        const next = { name, dtype: ty.dtype, shape: merge(old?.shape, ty.shape) };
        if (!sameType(old, next)) {
          g.valueInfo.set(name, next);
          changed = true;
        }
      });
    }
    return changed;
  },
};
