// Lowering: the streamlined integer plan becomes the dataflow IR (src/ir/dataflow.ts) —
// MVU → Threshold | Requant per layer, optional LabelSelect — and `lowerModel` is the whole
// ONNX Graph → DataflowGraph entry.
import { Code, KilnError } from '../diag/index.ts';
import { qtypeName, uint, type QType } from '../ir/datatype.ts';
import type { DataflowGraph, Layer, Stream } from '../ir/dataflow.ts';
import type { Graph } from '../ir/graph.ts';
import { smallestIntFor } from '../ir/datatype.ts';
import { quantizeFloatActivations, type QuantizeActivationsOptions } from './streamline-activations.ts';
import { streamline, type CodeOp, type StreamlinedMlp, type StreamlineOptions } from './streamline.ts';
import type { Window2d } from '../lower/spatial.ts';

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
  const typeOf = (s: string) => streams.get(s)!.qtype;
  const add = (base: string, kind: string, attrs: Record<string, unknown>, consts: Record<string, number[]>, outType: QType, outElems: number, origin: string[]): void => {
    const name = unique(verilogName(base));
    const out = stream(`${name}_${['MVU', 'VectorVector', 'AvgPool'].includes(kind) ? 'acc' : 'out'}`, outType, outElems);
    layers.push({ name, kind, attrs, consts, inputs: [cur], outputs: [out], origin });
    cur = out;
  };
  // Pad (when any) then SlidingWindow: the window stream of an NHWC image, in (pixel, tap, channel) order.
  const windowed = (base: string, w: Window2d, padCode: number, origin: string[]): void => {
    const [top, left, bottom, right] = w.pads;
    const qtype = typeOf(cur);
    if (top || left || bottom || right) {
      add(`${base}_pad`, 'Pad', { ih: w.ih, iw: w.iw, channels: w.channels, top, bottom, left, right, value: padCode, pe: 1, qtype: tn(qtype) }, {}, qtype, (w.ih + top + bottom) * (w.iw + left + right) * w.channels, origin);
    }
    const ih = w.ih + top + bottom;
    const iw = w.iw + left + right;
    add(`${base}_window`, 'SlidingWindow', { ih, iw, channels: w.channels, kh: w.kh, kw: w.kw, sh: w.sh, sw: w.sw, dh: w.dh, dw: w.dw, pe: 1, qtype: tn(qtype) }, {}, qtype, w.oh * w.ow * w.kh * w.kw * w.channels, origin);
  };
  const codeOp = (op: CodeOp): void => {
    const qtype = typeOf(cur);
    if (op.op === 'pad') {
      const [top, left, bottom, right] = op.pads;
      add(op.origin, 'Pad', { ih: op.ih, iw: op.iw, channels: op.channels, top, bottom, left, right, value: op.padCode, pe: 1, qtype: tn(qtype) }, {}, qtype, (op.ih + top + bottom) * (op.iw + left + right) * op.channels, [op.origin]);
      return;
    }
    const w = op.window;
    windowed(op.origin, w, op.padCode, [op.origin]);
    add(op.origin, 'MaxPool', { pixels: w.oh * w.ow, window: w.kh * w.kw, channels: w.channels, pe: 1, qtype: tn(qtype) }, {}, qtype, w.oh * w.ow * w.channels, [op.origin]);
  };
  for (const l of plan.layers) {
    for (const op of l.before ?? []) codeOp(op);
    const w = l.window;
    const vectors = w ? w.oh * w.ow : 1;
    const origin = l.origin.slice(0, 1);
    if (w && !l.global) windowed(l.mac, w, l.padCode ?? 0, origin);
    const unit = l.unit ?? 'mvu';
    if (unit === 'mvu') {
      add(l.mac, 'MVU', { rows: l.rows, cols: l.cols, vectors, pe: 1, simd: 1, inType: tn(l.inType), weightType: tn(l.weightType), outType: tn(l.accType) }, { weights: l.weights }, l.accType, vectors * l.rows, origin);
    } else if (unit === 'depthwise') {
      add(l.mac, 'VectorVector', { pixels: vectors, window: l.cols, channels: l.rows, pe: 1, inType: tn(l.inType), weightType: tn(l.weightType), outType: tn(l.accType) }, { weights: l.weights }, l.accType, vectors * l.rows, origin);
    } else {
      add(l.mac, 'AvgPool', { pixels: vectors, window: l.cols, channels: l.rows, pe: 1, inType: tn(l.inType), outType: tn(l.accType) }, {}, l.accType, vectors * l.rows, origin);
    }
    const elems = vectors * l.rows;
    if (l.act.kind === 'none') continue;
    const actName = l.quantizer ?? `${l.mac}_act`;
    if (l.act.kind === 'threshold') {
      const steps = l.act.thresholds[0]?.length ?? 0;
      add(actName, 'Threshold', { elems, channels: l.rows, steps, pe: 1, inType: tn(l.accType), outType: tn(l.act.outType), outBias: l.act.outBias, outScale: l.act.outScale }, { thresholds: l.act.thresholds.flat() }, l.act.outType, elems, l.origin.slice(1));
    } else {
      add(actName, 'Requant', { elems, channels: l.rows, pe: 1, shift: l.act.shift, inType: tn(l.accType), outType: tn(l.act.outType) }, { mul: l.act.mul, bias: l.act.bias }, l.act.outType, elems, l.origin.slice(1));
    }
  }
  for (const op of plan.tail) codeOp(op);
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
