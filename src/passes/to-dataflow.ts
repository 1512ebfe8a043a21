// Lowering: the streamlined integer plan becomes the dataflow IR (src/ir/dataflow.ts) —
// [Pad →] [SlidingWindow →] MVU | VectorVector | AvgPool → Threshold | Requant per layer, MaxPool /
// Pad between layers, Duplicate / AddStreams / Fifo for residual branches, optional LabelSelect —
// and `lowerModel` is the whole ONNX Graph → DataflowGraph entry.
import { Code, KilnError } from '../diag/index.ts';
import { qtypeName, uint, type QType } from '../ir/datatype.ts';
import type { DataflowGraph, Layer, Stream } from '../ir/dataflow.ts';
import type { Graph } from '../ir/graph.ts';
import { smallestIntFor } from '../ir/datatype.ts';
import { quantizeFloatActivations, type QuantizeActivationsOptions } from '../lower/rules/float-activations.ts';
import { streamline, type Activation, type CodeOp, type LayerPlan, type StreamlinedMlp, type StreamlineOptions } from './streamline.ts';
import { numel } from '../ir/tensor.ts';
import { insertFifos } from '../dataflow/fifo-sizing.ts';
import type { Window2d } from '../lower/spatial.ts';

export interface LowerOptions extends StreamlineOptions {
  /** Append a LabelSelect giving the indices of the k largest outputs (needs a uniform output affine). */
  topK?: number;
  /**
   * Quantize float activations first (models like mlp_ternary whose hidden activations are float):
   * inserts calibrated Quant nodes, see src/lower/rules/float-activations.ts. Changes the model.
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
    // A 1×1 stride-1 window stream is the image stream itself.
    if (w.kh === 1 && w.kw === 1 && w.sh === 1 && w.sw === 1) return;
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
    // A global window is the whole image in stream order: the MaxPool reads it directly.
    if (!op.global) windowed(op.origin, w, op.padCode, [op.origin]);
    add(op.origin, 'MaxPool', { pixels: w.oh * w.ow, window: w.kh * w.kw, channels: w.channels, pe: 1, qtype: tn(qtype) }, {}, qtype, w.oh * w.ow * w.channels, [op.origin]);
  };
  // One MAC-like layer on `cur`: [Pad →] [SlidingWindow →] MVU | VectorVector | AvgPool.
  const emitMac = (l: LayerPlan): void => {
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
  };
  // The activation of a layer's accumulator on `cur` (codes × `scale` for an aligned join input).
  const emitAct = (l: LayerPlan, act: Activation, quantizer: string | undefined, origin: string[], scale = 1, scaledType?: QType): void => {
    if (act.kind === 'none') return;
    const elems = numel(streams.get(cur)!.shape);
    const actName = quantizer ?? `${l.mac}_act`;
    if (act.kind === 'threshold') {
      const steps = act.thresholds[0]?.length ?? 0;
      const outType = scale === 1 ? act.outType : scaledType!;
      add(actName, 'Threshold', { elems, channels: l.rows, steps, pe: 1, inType: tn(l.accType), outType: tn(outType), outBias: act.outBias * scale, outScale: act.outScale * scale }, { thresholds: act.thresholds.flat() }, outType, elems, origin);
    } else {
      add(actName, 'Requant', { elems, channels: l.rows, pe: 1, shift: act.shift, ...(act.round === 'half-even' ? { round: act.round } : {}), inType: tn(l.accType), outType: tn(act.outType) }, { mul: act.mul, bias: act.bias }, act.outType, elems, origin);
    }
  };
  if (plan.branches) {
    // Branched graph: streams per (node, edge); accumulators with several consumers are duplicated.
    const edgeStream = new Map<string, string>();
    for (const op of plan.branches[0].edges[0].after) codeOp(op);
    edgeStream.set('input:0', cur);
    let output: string | undefined;
    for (const n of plan.branches.slice(1)) {
      const l = n.plan!; // every node after 'input' is a layer
      const ins = n.inputs.map((i) => edgeStream.get(`${i.node}:${i.edge}`)!);
      if (l.unit === 'add') {
        const elems = numel(streams.get(ins[0])!.shape);
        const name = unique(verilogName(n.name));
        const out = stream(`${name}_acc`, l.accType, elems);
        layers.push({ name, kind: 'AddStreams', attrs: { elems, pe: 1, aType: tn(typeOf(ins[0])), bType: tn(typeOf(ins[1])), outType: tn(l.accType) }, consts: {}, inputs: ins, outputs: [out], origin: [n.name] });
        cur = out;
      } else if (l.unit === 'concat') {
        const { aChannels, pixels } = l.concat!;
        const name = unique(verilogName(n.name));
        const out = stream(`${name}_out`, l.accType, pixels * l.rows);
        layers.push({ name, kind: 'Concat', attrs: { pixels, aChannels, bChannels: l.rows - aChannels, pe: 1, aType: tn(typeOf(ins[0])), bType: tn(typeOf(ins[1])), outType: tn(l.accType) }, consts: {}, inputs: ins, outputs: [out], origin: [n.name] });
        cur = out;
      } else {
        cur = ins[0];
        emitMac(l);
      }
      const sources: string[] = [];
      let rest = cur;
      for (let k = 0; k < n.edges.length - 1; k++) {
        const name = unique(verilogName(`${n.name}_dup`));
        const t = typeOf(rest);
        const elems = numel(streams.get(rest)!.shape);
        const o0 = stream(`${name}_out0`, t, elems);
        const o1 = stream(`${name}_out1`, t, elems);
        layers.push({ name, kind: 'Duplicate', attrs: { elems, pe: 1, qtype: tn(t) }, consts: {}, inputs: [rest], outputs: [o0, o1], origin: [n.name] });
        sources.push(o0);
        rest = o1;
      }
      sources.push(rest);
      n.edges.forEach((e, k) => {
        cur = sources[k];
        emitAct(l, e.act, e.quantizer, e.origin, e.scale, e.outType);
        for (const op of e.after) codeOp(op);
        edgeStream.set(`${n.name}:${k}`, cur);
        if (!e.to) output = cur;
      });
    }
    cur = output!;
  } else {
    for (const l of plan.layers) {
      for (const op of l.before ?? []) codeOp(op);
      emitMac(l);
      emitAct(l, l.act, l.quantizer, l.origin.slice(1));
    }
    for (const op of plan.tail) codeOp(op);
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
  const df: DataflowGraph = {
    name: verilogName(plan.name || 'model'),
    source: opts.source ?? plan.name,
    streams,
    layers,
    inputs: [input],
    outputs: [cur],
    inputQuant: [plan.inputQuant],
    outputAffine: [outputAffine],
  };
  // Branches: a Fifo on each short path, sized analytically (src/dataflow/fifo-sizing.ts; depth in the Fifo's attrs).
  if (plan.branches) {
    for (const f of insertFifos(df)) plan.notes.push(`fifo after ${f.duplicate} (port ${f.port}) for ${f.join}: ${f.elems} elements → depth ${f.fullRateDepth} (deadlock-free from ${f.depth})`);
  }
  return df;
}

/** ONNX Graph → dataflow graph: streamline, then lower. The graph is not modified. */
export function lowerModel(g: Graph, opts: LowerOptions = {}): DataflowGraph {
  const model = opts.quantizeActivations ? quantizeFloatActivations(g, opts.quantizeActivations).graph : g;
  return toDataflow(streamline(model, opts), opts);
}
