// Lowering: the streamlined integer plan becomes the dataflow IR (src/ir/dataflow.ts) —
// MVU → Threshold | Requant per layer, optional LabelSelect — and `lowerModel` is the whole
// ONNX Graph → DataflowGraph entry.
import { Code, KilnError } from '../diag/index.ts';
import { qtypeName, uint, type QType } from '../ir/datatype.ts';
import type { DataflowGraph, Layer, Stream } from '../ir/dataflow.ts';
import type { Graph } from '../ir/graph.ts';
import { smallestIntFor } from '../ir/datatype.ts';
import { quantizeFloatActivations, type QuantizeActivationsOptions } from './streamline-activations.ts';
import { streamline, type StreamlinedMlp, type StreamlineOptions } from './streamline.ts';

export interface LowerOptions extends StreamlineOptions {
  /** Append a LabelSelect giving the indices of the k largest outputs (needs a uniform output affine). */
  topK?: number;
  /** Model file, for generated-file headers. */
  source?: string;
  /**
   * Quantize float activations first (models like mlp_ternary whose hidden activations are float):
   * inserts calibrated Quant nodes, see src/passes/streamline-activations.ts. Changes the model.
   */
  quantizeActivations?: QuantizeActivationsOptions;
}

/** A valid Verilog identifier suffix from an ONNX name. */
export function verilogName(s: string): string {
  const t = s.replace(/[^A-Za-z0-9_]/g, '_').replace(/_+/g, '_').replace(/^_|_$/g, '');
  return !t ? 'n' : /^[0-9]/.test(t) ? `n${t}` : t;
}

export function toDataflow(plan: StreamlinedMlp, opts: LowerOptions = {}): DataflowGraph {
  const streams = new Map<string, Stream>();
  const layers: Layer[] = [];
  const used = new Set<string>();
  const unique = (base: string): string => {
    let n = base;
    for (let i = 1; used.has(n); i++) n = `${base}_${i}`;
    used.add(n);
    return n;
  };
  const stream = (name: string, qtype: QType, elems: number): string => {
    const n = unique(name);
    streams.set(n, { name: n, qtype, shape: [elems] });
    return n;
  };
  const tn = (t: QType) => qtypeName(t);

  const input = stream('in', plan.inputQuant.mode === 'sign' ? plan.layers[0].inType : plan.inputQuant.qtype, plan.inputElems);
  let cur = input;
  for (const l of plan.layers) {
    const mvuName = unique(verilogName(l.mac));
    const acc = stream(`${mvuName}_acc`, l.accType, l.rows);
    layers.push({
      name: mvuName, kind: 'MVU',
      attrs: { rows: l.rows, cols: l.cols, pe: 1, simd: 1, inType: tn(l.inType), weightType: tn(l.weightType), outType: tn(l.accType) },
      consts: { weights: l.weights }, inputs: [cur], outputs: [acc], origin: l.origin.slice(0, 1),
    });
    cur = acc;
    if (l.act.kind === 'none') continue;
    const actName = unique(verilogName(l.quantizer ?? `${l.mac}_act`));
    const out = stream(`${actName}_out`, l.act.outType, l.rows);
    if (l.act.kind === 'threshold') {
      const steps = l.act.thresholds[0]?.length ?? 0;
      layers.push({
        name: actName, kind: 'Threshold',
        attrs: { elems: l.rows, channels: l.rows, steps, pe: 1, inType: tn(l.accType), outType: tn(l.act.outType), outBias: l.act.outBias, outScale: l.act.outScale },
        consts: { thresholds: l.act.thresholds.flat() }, inputs: [cur], outputs: [out], origin: l.origin.slice(1),
      });
    } else {
      layers.push({
        name: actName, kind: 'Requant',
        attrs: { elems: l.rows, channels: l.rows, pe: 1, shift: l.act.shift, inType: tn(l.accType), outType: tn(l.act.outType) },
        consts: { mul: l.act.mul, bias: l.act.bias }, inputs: [cur], outputs: [out], origin: l.origin.slice(1),
      });
    }
    cur = out;
  }
  let outputAffine = plan.outputAffine;
  if (opts.topK !== undefined) {
    const { scale, offset } = plan.outputAffine;
    if (!scale.every((s) => s === scale[0] && s > 0) || !offset.every((o) => o === offset[0])) {
      throw new KilnError({ code: Code.CannotLower, message: 'cannot lower to LabelSelect: the output affine differs between classes, so integer order is not float order' });
    }
    const n = streams.get(cur)!.shape[0];
    const outType = smallestIntFor(0, Math.max(1, n - 1));
    const ls = unique('label_select');
    const out = stream(`${ls}_out`, outType.kind === 'INT' ? outType : uint(1), opts.topK);
    layers.push({
      name: ls, kind: 'LabelSelect', attrs: { n, k: opts.topK, pe: 1, inType: tn(streams.get(cur)!.qtype), outType: tn(streams.get(out)!.qtype) },
      consts: {}, inputs: [cur], outputs: [out], origin: plan.dropped,
    });
    cur = out;
    outputAffine = { scale: [1], offset: [0] };
  }
  return {
    name: verilogName(plan.name || 'model'),
    source: opts.source ?? plan.name,
    streams,
    layers,
    inputs: [input],
    outputs: [cur],
    inputQuant: [plan.inputQuant],
    outputAffine: [outputAffine],
  };
}

/** ONNX Graph → dataflow graph: streamline, then lower. The graph is not modified. */
export function lowerModel(g: Graph, opts: LowerOptions = {}): DataflowGraph {
  const model = opts.quantizeActivations ? quantizeFloatActivations(g, opts.quantizeActivations).graph : g;
  return toDataflow(streamline(model, opts), opts);
}
