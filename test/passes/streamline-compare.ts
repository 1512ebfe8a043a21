// Differential check of a lowering: the integer dataflow executor (host quantizer → runDataflow →
// output affine) against the ONNX reference executor on the same float inputs.
import { runDataflow } from '../../src/exec/dataflow.ts';
import { runGraph } from '../../src/exec/run.ts';
import type { Graph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { applyOutputAffine, quantizeInput } from '../../src/lower/host.ts';
import { streamline, type StreamlinedMlp } from '../../src/passes/streamline.ts';
import { toDataflow, type LowerOptions } from '../../src/passes/to-dataflow.ts';

export interface Comparison {
  plan: StreamlinedMlp;
  vectors: number;
  elements: number;
  /** Output codes equal to the code the ONNX output implies, round((y − offset)/scale). */
  codesEqual: number;
  top1Equal: number;
  /** Largest |affine(code) − y_onnx| / (|scale·code| + |offset| + |y|): the float reconstruction error. */
  maxRelError: number;
  mismatches: string[];
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

export function compareLowering(g: Graph, inputs: Float32Array[], opts: LowerOptions = {}): Comparison {
  const plan = streamline(g, opts);
  const df = toDataflow(plan, opts);
  const vi = g.inputs.find((i) => i.name === plan.inputTensor)!;
  const shape = (vi.shape ?? [inputs[0].length]).map((d) => (typeof d === 'number' ? d : 1));
  const { scale, offset } = plan.outputAffine;
  const res: Comparison = { plan, vectors: 0, elements: 0, codesEqual: 0, top1Equal: 0, maxRelError: 0, mismatches: [] };
  inputs.forEach((x, k) => {
    const ref = runGraph(g, new Map([[plan.inputTensor, makeTensor('float32', shape, x)]]), { keep: [plan.outputTensor] }).get(plan.outputTensor)!;
    const y = Array.from(ref.data as Float32Array);
    const codes = runDataflow(df, [quantizeInput(plan.inputQuant, x)])[0];
    const yHat = applyOutputAffine(plan.outputAffine, codes);
    res.vectors++;
    if (argmax(y) === argmax(yHat)) res.top1Equal++;
    else res.mismatches.push(`vector ${k}: top-1 ${argmax(yHat)} vs ONNX ${argmax(y)}`);
    const order = plan.outputAffine.order;
    y.forEach((v, i) => {
      // Model element i is stream element j (CNN outputs: NCHW model order vs NHWC stream order).
      const j = order ? order[i] : i;
      const c = j % scale.length;
      res.elements++;
      const implied = Math.round((v - offset[c]) / scale[c]);
      if (implied === codes[j]) res.codesEqual++;
      else res.mismatches.push(`vector ${k} element ${i}: code ${codes[j]} vs ONNX ${implied} (y ${v})`);
      const mag = Math.abs(scale[c] * codes[j]) + Math.abs(offset[c]) + Math.abs(v);
      res.maxRelError = Math.max(res.maxRelError, Math.abs(yHat[i] - v) / (mag || 1));
    });
  });
  return res;
}
