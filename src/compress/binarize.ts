// Binary (BWN: w ≈ α·sign(w)) and ternary (TWN: w ≈ α·t, t ∈ {−1, 0, 1}, Δ = 0.7·mean|w|) weights
// with a per-output-channel scale α (Rastegari et al. 2016; Li & Liu 2016).
//
// Written form: the MAC keeps ±1 / {−1,0,1} float weights and loses its bias; a Mul by α (per
// channel) and an Add of the bias follow it. The weights are then exactly the integers the hardware
// uses (XNOR / add-subtract units, no multipliers), and the float MAC over them is exact in any
// summation order, so kiln and onnxruntime agree; α and the bias fold into the next thresholds.
import type { Graph, Node } from '../ir/graph.ts';
import { makeTensor } from '../ir/tensor.ts';
import { freshName, getMatrix, setMatrix, tidyAfterEdit, weightLayers, type WeightLayer } from './layers.ts';

export type WeightCode = 'binary' | 'ternary';

/** Per-row scale α and codes of one weight matrix. */
export function binarizeMatrix(m: Float64Array, rows: number, cols: number, mode: WeightCode): { codes: Float64Array; alpha: number[] } {
  const codes = new Float64Array(m.length);
  const alpha: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = m.subarray(r * cols, (r + 1) * cols);
    const meanAbs = row.reduce((a, v) => a + Math.abs(v), 0) / cols;
    if (mode === 'binary') {
      for (let c = 0; c < cols; c++) codes[r * cols + c] = row[c] < 0 ? -1 : 1;
      alpha.push(meanAbs);
    } else {
      const delta = 0.7 * meanAbs;
      let sum = 0;
      let n = 0;
      for (let c = 0; c < cols; c++) {
        const a = Math.abs(row[c]);
        if (a > delta) { codes[r * cols + c] = Math.sign(row[c]); sum += a; n++; }
      }
      alpha.push(n ? sum / n : 0);
    }
  }
  return { codes, alpha };
}

/** Moves the layer's per-channel scale and bias after the MAC: MAC → Mul(α) → Add(b). */
function scaleAfter(g: Graph, l: WeightLayer, alpha: number[]): void {
  const n = l.node;
  const rank = n.op === 'Conv' ? g.initializers.get(l.weight)!.shape.length : 1;
  const shape = [l.rows, ...Array(Math.max(0, rank - 2)).fill(1)];
  const out = n.outputs[0];
  const scaled = freshName(g, `${out}_unscaled`);
  n.outputs[0] = scaled;
  const alphaName = freshName(g, `${l.weight}_alpha`);
  g.initializers.set(alphaName, makeTensor('float32', shape, alpha));
  const mulOut = l.bias || n.op === 'MatMul' ? freshName(g, `${out}_scaled`) : out;
  const nodes: Node[] = [{ name: freshName(g, `${n.name}_alpha`), op: 'Mul', domain: '', inputs: [scaled, alphaName], outputs: [mulOut], attrs: {} }];
  if (l.bias && n.op !== 'MatMul') {
    const b = g.initializers.get(l.bias)!;
    const biasName = freshName(g, `${l.bias}_after_scale`);
    g.initializers.set(biasName, makeTensor('float32', shape, b.data as Float32Array));
    n.inputs = n.inputs.slice(0, 2);
    nodes.push({ name: freshName(g, `${n.name}_bias`), op: 'Add', domain: '', inputs: [mulOut, biasName], outputs: [out], attrs: {} });
  } else if (n.op === 'MatMul') {
    // A MatMul's bias is already a following Add: rename the Mul output to what it read.
    nodes[0].outputs[0] = out;
  }
  g.nodes.splice(g.nodes.indexOf(n) + 1, 0, ...nodes);
}

/** Binarizes or ternarizes every weight layer of g in place. */
export function binarizeWeights(g: Graph, mode: WeightCode): void {
  for (const l of weightLayers(g)) {
    const { codes, alpha } = binarizeMatrix(getMatrix(g, l), l.rows, l.cols, mode);
    setMatrix(g, l, codes);
    scaleAfter(g, l, alpha);
  }
  tidyAfterEdit(g);
}

/**
 * XNOR-Net style binarized activations (on request only): every Relu feeding a weight layer becomes
 * a Sign of its input, so hidden layers see ±1 (0 stays 0 by ONNX Sign).
 */
export function binarizeActivations(g: Graph): number {
  let n = 0;
  for (const node of g.nodes) {
    if (node.op !== 'Relu') continue;
    const feedsMac = g.nodes.some((c) => ['Gemm', 'MatMul', 'Conv'].includes(c.op) && c.inputs[0] === node.outputs[0]);
    if (feedsMac) { node.op = 'Sign'; n++; }
  }
  return n;
}
