// Streamlining (FINN style, exact): a quantized fully-connected graph becomes an integer plan —
// per layer an integer weight matrix with its datatype, and an integer activation function
// (thresholds or a fixed-point requantization) that reproduces everything between the integer
// accumulator and the next quantizer's integer code: bias, BatchNorm, scale Mul/Div, Relu, clip,
// rounding. The input quantizer (with any constant input scaling folded in) and the affine that
// turns the last layer's integers back into the model's floats run on the host.
//
// Exactness: the activation function is never derived algebraically. For each channel the float
// chain is EVALUATED by the ONNX reference executor (same float32 ops, same order; the common
// Add/Mul/Relu/Clip/QuantizeLinear/DequantizeLinear chains through src/exec/chain.ts, which computes
// exactly the same values without tensors) on the MAC's
// ideal float output s_in·s_w·(acc − z_in·Σw) for candidate accumulators, and bisection over the
// accumulator's integer range finds every threshold. The allowed chain ops (Add, Sub, Mul, Div by
// constants, BatchNormalization, Relu, Clip, …, quantizers) are each monotone in float32 (rounding is
// monotone), so the chain is monotone per channel and bisection is exact; decreasing channels
// (negative scales / BatchNorm gamma) get their weight row negated. The one modelled value is the
// MAC output itself: with power-of-two scales (QONNX/Brevitas/QKeras) float32 sums of exact
// products are exact, so it equals the ONNX float MatMul; with arbitrary scales (QDQ) the ONNX
// float sum may round differently by an ulp, which can move a code across a rounding tie.
//
// Choices (each also surfaces in StreamlinedMlp.notes when it applies):
//  - Thresholds by default; Requant (M, B, shift) when an activation has more than 15 steps AND an
//    exact fit exists (checked at every threshold, which proves equality on the whole range by
//    monotonicity). The fit tries floor((x·M + B) / 2^s) first, then round half to even, which
//    reproduces QuantizeLinear's reachable exact ties (power-of-two scales); float32 rounding inside
//    the chain can still rule both out, then thresholds stay (exact, just bigger).
//  - Levels no channel reaches are dropped: BatchNorm → Sign whose zero is unreachable gives a
//    BIPOLAR stream (one threshold, outScale 2).
//  - A trailing Softmax is dropped: the output affine reproduces its input (logits), argmax is unchanged.
//  - A float graph input with no quantizer before the first MAC (QKeras exports) gets a host
//    quantizer INT16 with 10 fractional bits (hls4ml's ap_fixed<16,6>), option `floatInput`.
//  - Float hidden activations (mlp_ternary) are refused; streamline-activations.ts inserts a
//    documented, calibrated activation quantization first (LowerOptions.quantizeActivations).
//  - QOperator: QLinearMatMul (its MLAS requantization becomes a float32 Mul + QuantizeLinear in the
//    chain) and MatMulInteger (+ Cast/Mul/Add/… chain); zero points fold into weights and biases.
//
// CNNs (issue 4) use the same machinery; a "MAC" is any layer whose output is an integer sum:
//  - Conv (group 1 → SlidingWindow + MVU with one vector per output pixel, columns in (ky, kx, c)
//    order; depthwise → VectorVector), any kernel/stride/dilation/pads (pads → a Pad layer filled
//    with the input zero-point code); the bias folds into β (ONNX adds it to the float64 sum).
//  - AveragePool / GlobalAveragePool: the window SUM; 1/k folds into α of the next activation.
//  - MaxPool and Pad act on codes (max commutes with a non-decreasing quantizer; a MaxPool before
//    the quantizer moves after it when only Relu/Clip/quantizers lie between).
//  - Layout: streams are NHWC; src/lower/spatial.ts position tables carry the model's element order,
//    so the host reorders an NCHW input once (InputQuantizer.order), an NCHW flatten permutes the next
//    MatMul's weight columns, and an image output goes back in model order (OutputAffine.order).
//  - Two MACs with no quantizer between (QKeras conv → conv): exact when the output stays on one
//    power-of-two grid; the bias becomes a Requant with M = 1, shift 0.
//  - Residual graphs (lowerBranches): a layer DAG; an accumulator with several consumers is
//    duplicated and each consumer edge gets its own activation; Add of two quantized branches is
//    AddStreams, the larger-scale branch's Threshold scaled by the integer ratio (other ratios and
//    Requant there are refused); bypass FIFOs are sized analytically (src/dataflow/fifo-sizing.ts).
import { Code, KilnError, type Diagnostic } from '../diag/index.ts';
import { compileChain, type ChainEvaluator } from '../exec/chain.ts';
import { lookupOp } from '../exec/registry.ts';
import { runGraph } from '../exec/run.ts';
import { BIPOLAR, int, qtypeName, range, smallestIntFor, TERNARY, type QType } from '../ir/datatype.ts';
import type { InputQuantizer, OutputAffine } from '../ir/dataflow.ts';
import { attrFloat, attrInt, attrInts, type Graph, type Node } from '../ir/graph.ts';
import { makeTensor, numel, toNumbers, type Tensor } from '../ir/tensor.ts';
import { mvuOutType, rowAccRange } from '../layers/mvu.ts';
import { fitRequant, progressionStep, reachedCodes, requantValue, searchThresholds, type ChannelRange, type RequantRound } from '../lower/thresholds.ts';
import { cannotLower, viewGraph, type GraphView } from '../lower/view.ts';
import { quantizeInput } from '../lower/host.ts';
import { identityPositions, imageDims, nchwPositions, padAmounts, poolKernel, samePositions, window2d, type Window2d } from '../lower/spatial.ts';

export interface StreamlineOptions {
  /**
   * Input quantizer for graphs whose input reaches the first MAC unquantized (QKeras exports):
   * signed `bits`-bit fixed point with `frac` fractional bits. Default 16/10, hls4ml's default
   * ap_fixed<16,6>. Lowering is exact for inputs on that grid; others are rounded to it first.
   */
  floatInput?: { bits: number; frac: number };
  /** Activations with more steps than this use Requant when an exact one exists. Default 15. */
  maxThresholdSteps?: number;
}

export type Activation =
  | { kind: 'threshold'; thresholds: number[][]; outBias: number; outScale: number; outType: QType }
  /** round: the division by 2^shift (absent = 'floor'; 'half-even' where a quantizer's ties are reachable). */
  | { kind: 'requant'; mul: number[]; bias: number[]; shift: number; round?: RequantRound; outType: QType }
  | { kind: 'none' };

export interface LayerPlan {
  /** The MAC node. */
  mac: string;
  /** The quantizer node whose code the activation reproduces (hidden layers, quantized outputs). */
  quantizer?: string;
  origin: string[];
  rows: number;
  cols: number;
  /** rows×cols row-major, rows with a decreasing activation already negated. */
  weights: number[];
  weightType: QType;
  inType: QType;
  accType: QType;
  act: Activation;
  /**
   * The hardware unit (default 'mvu'): 'mvu' = MatMul/Gemm, or a Conv (SlidingWindow → MVU with one
   * vector per output pixel); 'depthwise' = VectorVector over the window stream (weights channels ×
   * kh·kw); 'avgpool' = window sums (AvgPool; the 1/k scale lives in the activation after it).
   */
  unit?: 'mvu' | 'depthwise' | 'avgpool' | 'add' | 'concat';
  /** A channel Concat: channels of its first input (the rest come from the second), pixels per image. */
  concat?: { aChannels: number; pixels: number };
  /** The input window (Conv, AveragePool; GlobalAveragePool = the whole image with `global`). */
  window?: Window2d;
  global?: boolean;
  /** Code filling the window's padding (the input zero point: float 0). */
  padCode?: number;
  /** Code-domain ops (MaxPool, Pad) applied to this layer's input stream first, in order. */
  before?: CodeOp[];
}

/**
 * A layer of a branched graph: a MAC-like layer (plan) or a residual join (plan.unit 'add'), its
 * inputs (the edge of another node, or 'input'), and one activation per consumer edge of its
 * accumulator (several edges: the accumulator is duplicated and each gets its own activation).
 */
export interface BranchNode {
  name: string;
  plan: LayerPlan;
  inputs: { node: string; edge: number }[];
  edges: BranchEdge[];
}

export interface BranchEdge {
  act: Activation;
  quantizer?: string;
  origin: string[];
  after: CodeOp[];
  /** Integer factor on the codes (a join input whose scale is a multiple of the other's): Threshold outBias/outScale × scale. */
  scale: number;
  /** The consumer node, or undefined for the graph output. */
  to?: string;
  /** Stream type after scaling. */
  outType: QType;
}

/** Ops on activation codes between layers (the code model is unchanged). */
export type CodeOp =
  | { op: 'maxpool'; origin: string; window: Window2d; padCode: number }
  | { op: 'pad'; origin: string; ih: number; iw: number; channels: number; pads: [number, number, number, number]; padCode: number };

export interface StreamlinedMlp {
  name: string;
  inputTensor: string;
  inputElems: number;
  inputQuant: InputQuantizer;
  layers: LayerPlan[];
  /** The ONNX tensor the output affine reproduces (the graph output unless a tail was dropped). */
  outputTensor: string;
  outputAffine: OutputAffine;
  /** Tail nodes dropped from the graph end (Softmax: monotone, argmax-preserving; the host may apply it). */
  dropped: string[];
  /** Code-domain ops after the last layer (a CNN ending in MaxPool). */
  tail: CodeOp[];
  /**
   * Set for graphs with branches (residual blocks): the layer DAG, in topological order. `layers`
   * then lists the same layers' plans for reports; emission follows `branches`.
   */
  branches?: BranchNode[];
  notes: string[];
}

// ---- op classes ---------------------------------------------------------------------------------

const LAYOUT = new Set(['Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Dropout', 'Transpose']);
const QUANTIZERS = new Set(['Quant', 'IntQuant', 'BipolarQuant', 'Sign', 'QuantizeLinear', 'DequantizeLinear']);
/** QONNX Quant and its newer name IntQuant. */
const isQuant = (n: Node) => n.op === 'Quant' || n.op === 'IntQuant';
const MACS = new Set(['MatMul', 'Gemm', 'QLinearMatMul', 'MatMulInteger', 'Conv', 'AveragePool', 'GlobalAveragePool']);
/** MAC-like ops on images: their input stream is NHWC (see src/lower/spatial.ts). */
const SPATIAL_MACS = new Set(['Conv', 'AveragePool', 'GlobalAveragePool']);
/** Ops that act on activation codes without changing their code model (max commutes with a monotone quantizer). */
const CODE_OPS = new Set(['MaxPool', 'Pad']);
/** Ops between a MaxPool and its quantizer that are non-decreasing, so the MaxPool can move after the quantizer. */
const NON_DECREASING = new Set(['Relu', 'Clip', 'Quant', 'IntQuant', 'QuantizeLinear', 'DequantizeLinear', 'Identity', 'Dropout']);
/** QOperator MACs: integer codes in, exact int32 accumulation of (x − x_zp)(w − w_zp). */
const INTEGER_MACS = new Set(['QLinearMatMul', 'MatMulInteger']);
/** Elementwise ops that are monotone in their run-time input when the other inputs are constants. */
const MONOTONE = new Set(['Add', 'Sub', 'Mul', 'Div', 'BatchNormalization', 'Relu', 'LeakyRelu', 'Clip', 'Max', 'Min', 'Sigmoid', 'Tanh', 'Neg', 'HardSigmoid', 'Cast']);
const TAIL = new Set(['Softmax', 'LogSoftmax']);

function classify(n: Node, dyn: number): string | undefined {
  if (LAYOUT.has(n.op) || QUANTIZERS.has(n.op) || TAIL.has(n.op)) return dyn === 0 ? undefined : 'its run-time input must be the first';
  if (MACS.has(n.op) || CODE_OPS.has(n.op)) return dyn === 0 ? undefined : 'weights must be the second input, the run-time vector the first';
  if (MONOTONE.has(n.op)) {
    if (n.op === 'Div' && dyn !== 0) return 'division by a run-time value is not monotone';
    if (n.op === 'BatchNormalization' && dyn !== 0) return 'its run-time input must be the first';
    return undefined;
  }
  if (n.op === 'Concat') return undefined; // a join of two branches (lowerBranches checks the axis)
  return 'only MatMul/Gemm/Conv/pooling layers with quantizers, elementwise scaling, BatchNormalization and monotone activations lower to dataflow';
}

// ---- small helpers ------------------------------------------------------------------------------

function constOf(v: GraphView, name: string, n: Node): Tensor {
  const t = v.consts.get(name);
  if (!t) throw new KilnError(cannotLower(n, `input '${name}' must be a constant`));
  return t;
}

function scalarOf(v: GraphView, name: string | undefined, n: Node, dflt: number, what: string): number {
  if (name === undefined || name === '') return dflt;
  const t = constOf(v, name, n);
  const xs = toNumbers(t);
  if (xs.length === 0) return dflt;
  if (!xs.every((x) => x === xs[0])) throw new KilnError(cannotLower(n, `${what} must be per-tensor here, not per-channel`));
  return xs[0];
}

/** Values of `t` broadcast (numpy rules) to `shape`. */
function broadcastTo(t: Tensor, shape: number[]): Float64Array {
  const out = new Float64Array(numel(shape));
  const src = toNumbers(t);
  const ts = [...Array(shape.length - t.shape.length).fill(1), ...t.shape];
  for (let i = 0; i < out.length; i++) {
    let rem = i;
    let idx = 0;
    let stride = 1;
    const coords: number[] = [];
    for (let d = shape.length - 1; d >= 0; d--) {
      coords[d] = rem % shape[d];
      rem = Math.floor(rem / shape[d]);
    }
    for (let d = shape.length - 1; d >= 0; d--) {
      idx += (ts[d] === 1 ? 0 : coords[d]) * stride;
      stride *= ts[d];
    }
    out[i] = src[idx];
  }
  return out;
}

/** Per-channel vector of a constant operand broadcast against a [.., C] tensor. */
function perChannel(t: Tensor, C: number, n: Node): number[] {
  const xs = toNumbers(t);
  if (xs.length === 1) return new Array(C).fill(xs[0]);
  if (xs.length === C && (t.shape[t.shape.length - 1] === C || t.shape.filter((d) => d !== 1).length === 1)) return xs;
  throw new KilnError(cannotLower(n, `constant of shape [${t.shape}] is not per-channel over ${C} channels`));
}

function runNode(g: Graph, n: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  return lookupOp(n)!(n, inputs, { opset: g.opsets[''] ?? 13 });
}

function isLayoutPreserving(v: GraphView, n: Node): boolean {
  if (n.op !== 'Transpose') return true;
  const shape = v.shapes.get(n.inputs[0]) ?? [];
  const perm = attrInts(n, 'perm', shape.map((_, i) => shape.length - 1 - i));
  const kept = perm.filter((a) => shape[a] !== 1);
  return kept.every((a, i) => i === 0 || a > kept[i - 1]);
}

// ---- weights ------------------------------------------------------------------------------------

interface IntWeights { w: Float64Array; s: Float64Array; shape: number[] }

const WEIGHT_LAYOUT = new Set(['Transpose', 'Reshape', 'Identity', 'Squeeze', 'Unsqueeze', 'Flatten']);

/** Integer weights and their per-element float scale, in the orientation the MAC reads them. */
function integerWeights(v: GraphView, name: string, mac: Node, notes: string[]): IntWeights {
  const replay: Node[] = [];
  let t = name;
  let q: Node | undefined;
  for (;;) {
    const p = v.producer.get(t);
    if (!p) break;
    if (WEIGHT_LAYOUT.has(p.op)) {
      replay.unshift(p);
      t = p.inputs[0];
      continue;
    }
    if (isQuant(p) || p.op === 'BipolarQuant' || p.op === 'DequantizeLinear') q = p;
    break;
  }
  const y = v.consts.get(t);
  if (!y) throw new KilnError(cannotLower(mac, `weights '${name}' must be constant`));
  const shape = y.shape;
  const yv = toNumbers(y);
  let w: Float64Array | undefined;
  let s: Float64Array | undefined;
  if (q) {
    const st = constOf(v, q.inputs[1], q);
    let sb: Float64Array;
    if (q.op === 'DequantizeLinear' && numel(st.shape) > 1) {
      // Per-axis scale: a 1-D tensor along `axis`.
      const axis = attrInt(q, 'axis', 1);
      const ax = axis < 0 ? axis + shape.length : axis;
      const bshape = shape.map((d, i) => (i === ax ? d : 1));
      sb = broadcastTo(makeTensor('float32', bshape, toNumbers(st)), shape);
    } else sb = broadcastTo(st, shape);
    const wi = new Float64Array(yv.length);
    let exact = true;
    for (let i = 0; i < yv.length; i++) {
      wi[i] = Math.round(yv[i] / sb[i]);
      if (Math.fround(wi[i] * sb[i]) !== yv[i]) exact = false;
    }
    if (exact) {
      w = wi;
      s = sb;
    }
  }
  if (!w) {
    const grid = inferGrid(yv);
    if (!grid) {
      // A graph without any quantizer is a float model: say so, with the command that quantizes it.
      const float = !v.g.nodes.some((n) => QUANTIZERS.has(n.op) || INTEGER_MACS.has(n.op));
      const hint = float ? '; this model is float: quantize it first with `kiln compress <model> -o model_int8.onnx --bits 8 --calib <inputs.npy>`' : '';
      throw new KilnError(cannotLower(mac, `weights '${name}' are not on an integer grid (no quantizer, not ±a/0, not a power-of-two grid)${hint}`));
    }
    w = grid.w;
    s = new Float64Array(yv.length).fill(grid.s);
    if (!q) notes.push(`${mac.name}: float weights read as integers × ${grid.s} (${grid.why})`);
  }
  // Replay the layout ops (Transpose, Reshape, …) on the integers and the scales.
  let wt = makeTensor('float32', shape, w);
  let stt = makeTensor('float32', shape, s!);
  for (const n of replay) {
    const rest = n.inputs.slice(1).map((i) => (i === '' ? undefined : v.consts.get(i)));
    wt = runNode(v.g, n, [wt, ...rest])[0];
    stt = runNode(v.g, n, [stt, ...rest])[0];
  }
  return { w: Float64Array.from(toNumbers(wt)), s: Float64Array.from(toNumbers(stt)), shape: wt.shape };
}

/** QLinearMatMul / MatMulInteger weights: the constant integer tensor minus its zero point (per column). */
function qoperatorWeights(v: GraphView, mac: Node): IntWeights {
  const [bi, zi] = mac.op === 'QLinearMatMul' ? [3, 5] : [1, 3];
  const b = constOf(v, mac.inputs[bi], mac);
  if (b.shape.length !== 2) throw new KilnError(cannotLower(mac, `weights of rank ${b.shape.length}, not 2`));
  const zb = mac.inputs[zi] ? toNumbers(constOf(v, mac.inputs[zi], mac)) : [0];
  const N = b.shape[1];
  const bv = toNumbers(b);
  const w = Float64Array.from(bv, (x, i) => x - zb[zb.length === 1 ? 0 : i % N]);
  return { w, s: new Float64Array(bv.length).fill(1), shape: b.shape };
}

/** Integer values and one scale for an unquantized float weight tensor, when there is an exact one. */
export function inferGrid(ys: number[]): { w: Float64Array; s: number; why: string } | undefined {
  if (ys.every((x) => Number.isInteger(x))) return { w: Float64Array.from(ys), s: 1, why: 'integer values' };
  const mags = [...new Set(ys.map(Math.abs).filter((x) => x !== 0))];
  if (mags.length === 1) return { w: Float64Array.from(ys, (x) => Math.sign(x)), s: mags[0], why: `values in {-a, 0, +a}, a = ${mags[0]}` };
  for (let e = 1; e <= 30; e++) {
    const k = 2 ** e;
    if (ys.every((x) => Number.isInteger(x * k)) && ys.every((x) => Math.abs(x * k) < 2 ** 15)) {
      return { w: Float64Array.from(ys, (x) => x * k), s: 1 / k, why: `power-of-two grid 2^-${e}` };
    }
  }
  return undefined;
}

/** The datatype of an integer weight matrix (BIPOLAR / TERNARY / smallest INTn or UINTn). */
export function weightQType(ws: ArrayLike<number>): QType {
  let lo = Infinity;
  let hi = -Infinity;
  let zero = false;
  for (let i = 0; i < ws.length; i++) {
    lo = Math.min(lo, ws[i]);
    hi = Math.max(hi, ws[i]);
    if (ws[i] === 0) zero = true;
  }
  if (lo >= -1 && hi <= 1 && lo < 0) return zero ? TERNARY : BIPOLAR;
  return smallestIntFor(Math.min(lo, 0), Math.max(hi, 0));
}

/** The stream datatype of codes lo..hi ({-1,+1} → BIPOLAR). */
function codeQType(codes: number[]): QType {
  if (codes.length === 2 && codes[0] === -1 && codes[1] === 1) return BIPOLAR;
  return smallestIntFor(Math.min(codes[0], 0), Math.max(codes[codes.length - 1], 0));
}

// ---- activation points ----------------------------------------------------------------------------

/** How the float value at an activation tensor encodes an integer code: y = (k − z)·s. */
interface CodeModel { s: number; z: number }

function codeModel(v: GraphView, q: Node): CodeModel {
  switch (q.op) {
    case 'Quant': case 'IntQuant': return { s: scalarOf(v, q.inputs[1], q, 1, 'the scale'), z: scalarOf(v, q.inputs[2], q, 0, 'the zero point') };
    case 'BipolarQuant': return { s: scalarOf(v, q.inputs[1], q, 1, 'the scale'), z: 0 };
    case 'DequantizeLinear': return { s: scalarOf(v, q.inputs[1], q, 1, 'the scale'), z: scalarOf(v, q.inputs[2], q, 0, 'the zero point') };
    default: return { s: 1, z: 0 }; // Sign, and a QuantizeLinear whose integer output is the graph output
  }
}

function codeOf(y: number, m: CodeModel, n: Node): number {
  const u = y / m.s + m.z;
  const k = Math.round(u);
  if (Math.abs(u - k) > 1e-3) throw new KilnError(cannotLower(n, `output ${y} is not on its grid (scale ${m.s}, zero point ${m.z})`));
  return k;
}

/** A chain of path nodes between a MAC and its activation tensor, evaluated as one small graph. */
class Chain {
  private readonly graph: Graph;
  readonly extra = new Map<string, Tensor>();
  readonly nodes: Node[] = [];
  private readonly inName = 'kiln_chain_in';
  private out: string;

  /**
   * `spatial`: the chain follows a Conv/pooling layer, so it runs on [rows, channels, 1, 1] (NCHW, where
   * per-channel constants are [C, 1, 1]) and applies Transposes (QKeras' NCHW → NHWC), which keep the
   * (row, channel) element order as long as the batch axis stays first.
   */
  constructor(private readonly v: GraphView, private readonly channels: number, private readonly spatial = false) {
    this.out = this.inName;
    this.graph = { ...v.g, name: 'chain', nodes: [], inputs: [], outputs: [], initializers: new Map(), valueInfo: new Map(), qtypes: new Map() };
  }

  /** Appends a path node (layout nodes are skipped: the chain works on [rows, channels]). */
  push(n: Node): void {
    this.compiled = undefined;
    if (this.spatial && n.op === 'Transpose') {
      if (attrInts(n, 'perm', [3, 2, 1, 0])[0] !== 0) throw new KilnError(cannotLower(n, 'a transpose that moves the batch axis'));
    } else if (LAYOUT.has(n.op)) return;
    const dyn = n.op === 'Gemm' ? 0 : this.v.dynIndex.get(n) ?? 0;
    const inputs = n.inputs.map((i, k) => (k === dyn ? this.out : i));
    const node: Node = { ...n, inputs, outputs: [n.outputs[0]] };
    this.nodes.push(node);
    this.out = n.outputs[0];
  }

  /** Appends a synthetic node with constant operands (Gemm's alpha and bias, QLinearMatMul's requantization). */
  pushConst(op: 'Add' | 'Mul' | 'QuantizeLinear', values: Tensor[], tag: string): void {
    this.compiled = undefined;
    const cnames = values.map((t, i) => {
      const cname = `kiln_chain_${tag}_${i}`;
      this.extra.set(cname, t);
      return cname;
    });
    const oname = `kiln_chain_${tag}_out`;
    this.nodes.push({ name: `kiln_${tag}`, op, domain: '', inputs: [this.out, ...cnames], outputs: [oname], attrs: {} });
    this.out = oname;
  }

  constValue(name: string): Tensor | undefined {
    return this.extra.get(name) ?? this.v.consts.get(name);
  }

  private compiled?: { f?: ChainEvaluator };

  /**
   * The chain compiled by src/exec/chain.ts (the same float32 arithmetic as eval, on a flat vector of
   * (channel, value) queries), or undefined when it has a node that only the generic executor runs.
   * Compiled on first use after the last push (a push drops it).
   */
  fast(): ChainEvaluator | undefined {
    this.compiled ??= { f: process.env.KILN_CHAIN_GENERIC === '1' ? undefined : compileChain(this.nodes, this.inName, (n) => this.constValue(n), this.channels, this.spatial, this.v.g.opsets[''] ?? 13) };
    return this.compiled.f;
  }

  /** Evaluates the chain on a [rows, channels] float32 tensor of MAC outputs. */
  eval(x: Float32Array, rows: number): Float64Array {
    if (this.nodes.length === 0) return Float64Array.from(x);
    const g = this.graph;
    g.nodes = this.nodes;
    g.initializers = new Map();
    for (const n of this.nodes) {
      for (const i of n.inputs) {
        if (i === '' || i === this.inName) continue;
        const c = this.constValue(i);
        if (c) g.initializers.set(i, c);
      }
    }
    const shape = this.spatial ? [rows, this.channels, 1, 1] : [rows, this.channels];
    g.inputs = [{ name: this.inName, dtype: 'float32', shape }];
    g.outputs = [{ name: this.out, dtype: 'float32' }];
    const y = runGraph(g, new Map([[this.inName, makeTensor('float32', shape, x)]])).get(this.out)!;
    if (numel(y.shape) !== rows * this.channels) {
      throw new KilnError(cannotLower(this.nodes[this.nodes.length - 1], 'changes the number of elements between a MAC and its activation'));
    }
    return Float64Array.from(toNumbers(y));
  }

  /**
   * y = a[c]·x + b[c] when every node is affine (float64 composition), for the last layer's output.
   * Undefined if some node is not affine (Relu, Clip, a quantizer, …).
   */
  affine(a: number[], b: number[]): { a: number[]; b: number[] } | undefined {
    const C = this.channels;
    a = [...a];
    b = [...b];
    for (const n of this.nodes) {
      const other = (k: number) => perChannel(this.constValue(n.inputs[k])!, C, n);
      const dyn = n.inputs.indexOf(n.inputs.find((i) => !this.constValue(i) && i !== '')!);
      switch (n.op) {
        case 'Add': { const c = other(1 - dyn); b = b.map((x, i) => x + c[i]); break; }
        case 'Sub': {
          const c = other(1 - dyn);
          if (dyn === 0) b = b.map((x, i) => x - c[i]);
          else { a = a.map((x) => -x); b = b.map((x, i) => c[i] - x); }
          break;
        }
        case 'Mul': { const c = other(1 - dyn); a = a.map((x, i) => x * c[i]); b = b.map((x, i) => x * c[i]); break; }
        case 'Div': { const c = other(1); a = a.map((x, i) => x / c[i]); b = b.map((x, i) => x / c[i]); break; }
        case 'Neg': a = a.map((x) => -x); b = b.map((x) => -x); break;
        case 'Cast': break; // int32 accumulator to float: exact below 2^24
        case 'Transpose': break; // spatial chains: keeps the (row, channel) order
        case 'BatchNormalization': {
          const [sc, bi, mu, va] = [1, 2, 3, 4].map((k) => other(k));
          const eps = attrFloat(n, 'epsilon', 1e-5);
          const f = sc.map((x, i) => x / Math.sqrt(va[i] + eps));
          a = a.map((x, i) => x * f[i]);
          b = b.map((x, i) => (x - mu[i]) * f[i] + bi[i]);
          break;
        }
        default: return undefined;
      }
    }
    return { a, b };
  }
}

// ---- the pass -----------------------------------------------------------------------------------

export function streamline(g: Graph, opts: StreamlineOptions = {}): StreamlinedMlp {
  const v = viewGraph(g, classify, { branches: true });
  const notes: string[] = [];
  const problems: Diagnostic[] = [];
  const path = v.path;
  const macIdx = path.map((n, i) => (MACS.has(n.op) ? i : -1)).filter((i) => i >= 0);
  if (macIdx.length === 0) throw new KilnError({ code: Code.CannotLower, message: 'cannot lower: the graph has no MatMul or Gemm layer' });

  // Drop a monotone tail (Softmax) after the last MAC's chain; the affine reproduces its input.
  let end = path.length;
  let j = path.length;
  while (j > macIdx[macIdx.length - 1] + 1 && (TAIL.has(path[j - 1].op) || LAYOUT.has(path[j - 1].op))) j--;
  const dropped = path.slice(j).filter((n) => TAIL.has(n.op)).map((n) => n.name);
  if (dropped.length) end = j;
  for (let i = 0; i < end; i++) if (TAIL.has(path[i].op)) problems.push(cannotLower(path[i], 'Softmax is only lowered as the last op'));
  if (dropped.length) notes.push(`dropped ${dropped.join(', ')} at the output (monotone: the host may apply it; argmax is unchanged)`);
  const outputTensor = end === path.length ? v.output : path[end - 1].outputs[0];

  // ---- input quantizer
  // The host side ends at the first layer: a MAC, or a residual join fed straight from the input.
  const firstJoin = path.findIndex((n) => isJoin(v, n));
  const prefix = path.slice(0, firstJoin >= 0 ? Math.min(firstJoin, macIdx[0]) : macIdx[0]);
  const { positions, order } = trackPositions(v);
  const qi = lastActivation(prefix);
  if (qi < 0 && prefix.some((n) => QUANTIZERS.has(n.op))) problems.push(cannotLower(prefix.find((n) => QUANTIZERS.has(n.op))!, 'a quantizer must directly precede the first MAC'));
  let inputQuant: InputQuantizer;
  let inModel: CodeModel;
  let inCodes: number[];
  {
    const before = qi >= 0 ? prefix.slice(0, prefixQuantStart(prefix, qi)) : prefix;
    const { p, q, lo: clampLo, hi: clampHi } = prefixAffine(v, before, problems);
    // The quantizer on the clamped value u (not on x): its scale and zero point.
    let valueQ = { scale: 1, zeroPoint: 0 };
    if (qi < 0) {
      const fi = opts.floatInput ?? { bits: 16, frac: 10 };
      const s = 2 ** -fi.frac;
      const t = int(fi.bits);
      inputQuant = { scale: [s / p], zeroPoint: [q / s], qtype: t, mode: 'round' };
      inModel = { s, z: 0 };
      valueQ = { scale: s, zeroPoint: 0 };
      const [lo, hi] = range(t);
      inCodes = [lo, hi];
      notes.push(`input '${v.input}' is float: quantized on the host to ${qtypeName(t)} with ${fi.frac} fractional bits (exact for inputs on that grid)`);
    } else {
      const qn = prefix[qi];
      const first = prefix[prefixQuantStart(prefix, qi)];
      inModel = codeModel(v, qn);
      // Codes the quantizer can produce: evaluate it at the extremes.
      const ch = new Chain(v, 1);
      for (const n of prefix.slice(prefixQuantStart(prefix, qi), qi + 1)) ch.push(n);
      const ext = ch.eval(Float32Array.from([-3e38, 3e38]), 2);
      const kLo = codeOf(ext[0], inModel, qn);
      const kHi = codeOf(ext[1], inModel, qn);
      inCodes = [kLo, kHi];
      const oneBitQuant = isQuant(first) && kLo === -1 && kHi === 1 && toNumbers(constOf(v, first.inputs[3], first))[0] === 1;
      if (oneBitQuant || first.op === 'BipolarQuant') {
        // BipolarQuant, and QONNX's 1-bit signed Quant, which is bipolar too (x/s + z ≥ 0 → +1).
        const qs = scalarOf(v, first.inputs[1], first, 1, 'the scale');
        const qz = isQuant(first) ? scalarOf(v, first.inputs[2], first, 0, 'the zero point') : 0;
        inputQuant = { scale: [qs / p], zeroPoint: [qz + q / qs], qtype: BIPOLAR, mode: 'bipolar' };
        inCodes = [-1, 1];
      } else if (isQuant(first) || first.op === 'QuantizeLinear') {
        const qs = scalarOf(v, first.inputs[1], first, 1, 'the scale');
        const qz = scalarOf(v, first.inputs[2], first, 0, 'the zero point');
        const t = codeQType(Array.from({ length: kHi - kLo + 1 }, (_, i) => kLo + i));
        const [tlo, thi] = range(t);
        inputQuant = { scale: [qs / p], zeroPoint: [qz + q / qs], qtype: t, mode: 'round', ...(tlo !== kLo || thi !== kHi ? { clip: [kLo, kHi] as [number, number] } : {}) };
        valueQ = { scale: qs, zeroPoint: qz };
        if (isQuant(first) && first.attrs.rounding_mode?.kind === 'string' && !['ROUND', 'HALF_EVEN'].includes(first.attrs.rounding_mode.v.toUpperCase())) {
          problems.push(cannotLower(first, `rounding_mode ${first.attrs.rounding_mode.v} on the input (host quantizer rounds half to even)`));
        }
      } else {
        inputQuant = { scale: [1 / p], zeroPoint: [q], qtype: int(2), mode: 'sign', clip: [-1, 1] };
        inCodes = [-1, 1];
      }
      if (p !== 1 || q !== 0) notes.push(`input scaling folded into the host quantizer: x·${p} + ${q}`);
    }
    if (clampLo > -Infinity || clampHi < Infinity) {
      const clipped = clampCodes(inputQuant, valueQ, clampLo, clampHi, inCodes);
      if (clipped === undefined) problems.push(cannotLower(prefix[qi] ?? before[0], `host boundary: a clamp to [${clampLo}, ${clampHi}] before a ${inputQuant.mode} input quantizer changes its codes (only a rounding quantizer takes a code clip)`));
      else if (clipped[0] !== inCodes[0] || clipped[1] !== inCodes[inCodes.length - 1]) {
        inputQuant.clip = clipped;
        inCodes = clipped;
        notes.push(`clamp to [${clampLo}, ${clampHi}] before the input quantizer: host code clip [${clipped[0]}, ${clipped[1]}]`);
      } else notes.push(`clamp to [${clampLo}, ${clampHi}] before the input quantizer is redundant (the quantizer clips there): dropped`);
    }
  }
  if (problems.length) throw new KilnError(problems);

  // ---- layers
  const layers: LayerPlan[] = [];
  let inType: QType = inputQuant.qtype;
  if (inputQuant.mode === 'sign') inType = int(2);
  let outputAffine: OutputAffine | undefined;
  const inputElems = numel(v.shapes.get(v.input) ?? [1]);
  let prevElems = inputElems;
  // Code ops (MaxPool, Pad) wait for the next layer; their pad codes widen the code range.
  let pending: CodeOp[] = [];
  const takeOps = (ops: CodeOp[], last: Node | undefined) => {
    pending = ops;
    for (const op of ops) inCodes = [Math.min(inCodes[0], op.padCode), Math.max(inCodes[inCodes.length - 1], op.padCode)];
    if (ops.length && last) prevElems = numel(v.shapes.get(last.outputs[0]) ?? [NaN]);
  };
  try {
    const ops = qi >= 0 ? prefix.slice(qi + 1).filter((n) => CODE_OPS.has(n.op)) : [];
    takeOps(codeOps(v, ops, inModel, inCodes[0], positions), ops[ops.length - 1]);
  } catch (e) {
    if (e instanceof KilnError && e.code === Code.CannotLower) problems.push(...e.diagnostics);
    else throw e;
  }
  if (isBranched(v)) {
    if (problems.length) throw new KilnError(problems);
    const b = lowerBranches(v, { model: inModel, codes: inCodes, type: inType, elems: prevElems, positions }, pending, outputTensor, opts, notes);
    if (order) inputQuant.order = order;
    const outPos = positions.get(outputTensor);
    if (outPos && !samePositions(outPos, identityPositions(outPos.length))) b.outputAffine.order = Array.from(outPos);
    return { name: g.name, inputTensor: v.input, inputElems, inputQuant, layers: b.layers, outputTensor, outputAffine: b.outputAffine, dropped, tail: b.tail, notes, branches: b.nodes };
  }
  for (let li = 0; li < macIdx.length; li++) {
    const mac = path[macIdx[li]];
    const last = li === macIdx.length - 1;
    const chainNodes = path.slice(macIdx[li] + 1, last ? end : macIdx[li + 1]);
    try {
      const res = lowerLayer(v, mac, chainNodes, last, { model: inModel, codes: inCodes, type: inType, elems: prevElems, positions }, opts, notes);
      if (pending.length) res.plan.before = pending;
      layers.push(res.plan);
      if (res.next) {
        inModel = res.next.model;
        inCodes = res.next.codes;
        inType = res.next.type;
      }
      prevElems = res.plan.rows * (res.plan.window ? res.plan.window.oh * res.plan.window.ow : 1);
      const ops = chainNodes.filter((n) => CODE_OPS.has(n.op));
      takeOps(res.after, ops[ops.length - 1]);
      if (res.affine) outputAffine = res.affine;
    } catch (e) {
      if (e instanceof KilnError && e.code === Code.CannotLower) problems.push(...e.diagnostics);
      else throw e;
      prevElems = NaN; // unknown after a failed layer: don't report the next layer's width as well
      pending = [];
    }
  }
  if (problems.length) throw new KilnError(problems);
  if (order) inputQuant.order = order;
  // The host puts output codes back into the model's element order (an NCHW conv output, say).
  const outPos = positions.get(outputTensor);
  if (outputAffine && outPos && !samePositions(outPos, identityPositions(outPos.length))) outputAffine.order = Array.from(outPos);
  return {
    name: g.name,
    inputTensor: v.input,
    inputElems,
    inputQuant,
    layers,
    outputTensor,
    outputAffine: outputAffine!,
    dropped,
    tail: pending,
    notes,
  };
}

/**
 * Checks the integer activation against the evaluated chain on every accumulator value of small
 * ranges and on 2048 spread + edge samples per channel of large ones. Bisection presumes a monotone
 * chain; this catches one that is not (say a LeakyRelu with a negative slope) instead of lowering it wrongly.
 */
function verifyActivation(code: (ch: Int32Array, acc: Float64Array) => Float64Array, ranges: ChannelRange[], act: Activation, n: Node): void {
  if (act.kind === 'none') return;
  let total = 0;
  for (const r of ranges) total += Math.min(r.hi - r.lo + 1, 2048);
  const ch = new Int32Array(total);
  const acc = new Float64Array(total);
  let q = 0;
  ranges.forEach((r, c) => {
    const span = r.hi - r.lo;
    const count = Math.min(span + 1, 2048);
    for (let i = 0; i < count; i++, q++) {
      ch[q] = c;
      acc[q] = span + 1 <= 2048 ? r.lo + i : r.lo + Math.round((i * span) / (count - 1));
    }
  });
  const k = code(ch, acc);
  const [lo, hi] = range(act.outType);
  // Thresholds passed = how many of them are ≤ acc: a binary search in each channel's sorted copy.
  const sorted = act.kind === 'threshold' ? act.thresholds.map((t) => Float64Array.from(t).sort()) : [];
  const passed = (ts: Float64Array, x: number): number => {
    let a = 0;
    let b = ts.length;
    while (a < b) {
      const m = (a + b) >> 1;
      if (ts[m] <= x) a = m + 1;
      else b = m;
    }
    return a;
  };
  for (let j = 0; j < ch.length; j++) {
    const c = ch[j];
    let want: number;
    if (act.kind === 'threshold') want = act.outBias + act.outScale * passed(sorted[c], acc[j]);
    else want = requantValue(acc[j], act.mul[c], act.bias[c], act.shift, lo, hi, act.round);
    if (want !== k[j]) throw new KilnError(cannotLower(n, `its output is not monotone in the accumulator (channel ${c}, accumulator ${acc[j]}: ${k[j]}, thresholds give ${want})`));
  }
}

// ---- branches (residual blocks) -------------------------------------------------------------------

const runtimeInputsOf = (v: GraphView, n: Node): string[] => n.inputs.filter((i) => i !== '' && !v.consts.has(i) && v.shapes.has(i) && (i === v.input || v.producer.has(i)));
const isJoin = (v: GraphView, n: Node): boolean => (n.op === 'Add' || n.op === 'Concat') && runtimeInputsOf(v, n).length === 2;
const isLayerNode = (v: GraphView, n: Node): boolean => MACS.has(n.op) || isJoin(v, n);

function isBranched(v: GraphView): boolean {
  const uses = new Map<string, number>();
  for (const n of v.path) for (const i of runtimeInputsOf(v, n)) uses.set(i, (uses.get(i) ?? 0) + 1);
  return v.path.some((n) => isJoin(v, n)) || [...uses.values()].some((k) => k > 1);
}

interface Edge { nodes: Node[]; to?: Node; port: number }

/** The chains from tensor t to the next layer nodes (or the output tensor), one per consumer path. */
function edgesFrom(v: GraphView, t: string, outputTensor: string): Edge[] {
  const out: Edge[] = [];
  const walk = (x: string, nodes: Node[]) => {
    if (x === outputTensor) return void out.push({ nodes, port: 0 });
    const cons = v.path.filter((n) => runtimeInputsOf(v, n).includes(x));
    for (const n of cons) {
      if (isLayerNode(v, n)) runtimeInputsOf(v, n).forEach((i, port) => { if (i === x) out.push({ nodes, to: n, port }); });
      else walk(n.outputs[0], [...nodes, n]);
    }
  };
  walk(t, []);
  return out;
}

interface EdgeState { model: CodeModel; codes: number[]; type: QType; node: string; edge: number; scale: number }

/**
 * Lowers a graph with residual joins: every layer node's accumulator feeds one activation per
 * consumer edge (evaluated, as in chains, from that edge's own quantizers); a join adds two
 * quantized branches whose scales are integer multiples of the smaller one, the factor folded into
 * the larger-scale branch's Threshold (outBias, outScale × f: exact); other scale ratios are refused.
 */
function lowerBranches(v: GraphView, input: InSide, before: CodeOp[], outputTensor: string, opts: StreamlineOptions, notes: string[]):
  { nodes: BranchNode[]; layers: LayerPlan[]; outputAffine: OutputAffine; tail: CodeOp[] } {
  const problems: Diagnostic[] = [];
  const fail = (e: unknown) => {
    if (e instanceof KilnError && e.code === Code.CannotLower) problems.push(...e.diagnostics);
    else throw e;
  };
  const inEdges = edgesFrom(v, v.input, outputTensor);
  // The prefix (input quantizer, code ops) was lowered by the caller: one edge into the first layer.
  const firstLayer = v.path.find((n) => isLayerNode(v, n));
  if (inEdges.length !== 1 || inEdges[0].to !== firstLayer) throw new KilnError({ code: Code.CannotLower, message: 'cannot lower: the graph input fans out before its first layer (only layer outputs may branch)' });
  const state = new Map<string, EdgeState>(); // key `${node}:${port}`
  state.set(`${firstLayer!.name}:${inEdges[0].port}`, { model: input.model, codes: input.codes, type: input.type, node: 'input', edge: 0, scale: 1 });
  const nodes: BranchNode[] = [{ name: 'input', plan: undefined as never, inputs: [], edges: [{ act: { kind: 'none' }, origin: [], after: before, scale: 1, to: firstLayer!.name, outType: input.type }] }];
  // Scale of the code each edge ends in (its last quantizer), to align join inputs before lowering.
  const edgeScale = (e: Edge): number | undefined => {
    const qi = lastActivation(e.nodes);
    return qi >= 0 ? codeModel(v, e.nodes[qi]).s : undefined;
  };
  const layers: LayerPlan[] = [];
  let outputAffine: OutputAffine | undefined;
  let tail: CodeOp[] = [];
  for (const L of v.path.filter((n) => isLayerNode(v, n))) {
    try {
      const ins = runtimeInputsOf(v, L).map((_, port) => state.get(`${L.name}:${port}`));
      if (ins.some((x) => !x)) {
        // Downstream of a refused layer: that refusal is the cause, no knock-on line for this one.
        if (problems.length) continue;
        throw new KilnError(cannotLower(L, 'an input that no lowered layer produces'));
      }
      let inSide: InSide;
      if (isJoin(v, L)) {
        const [a, b] = ins as EdgeState[];
        // Scaled codes k·f carry scale s/f; both branches must now share one scale.
        const s = a.model.s / a.scale;
        if (b.model.s / b.scale !== s) {
          throw new KilnError(cannotLower(L, `branch scales ${a.model.s} and ${b.model.s} are not integer multiples of each other (align them, e.g. power-of-two scales)`));
        }
        const [alo, ahi] = range(a.type);
        const [blo, bhi] = range(b.type);
        const [aLo, aHi, bLo, bHi] = [a.codes[0] * a.scale, a.codes[a.codes.length - 1] * a.scale, b.codes[0] * b.scale, b.codes[b.codes.length - 1] * b.scale];
        if (L.op === 'Concat') {
          // Codes pass unchanged, so both branches need the same (scaled) code model.
          if (a.model.z * a.scale !== b.model.z * b.scale) throw new KilnError(cannotLower(L, `its branches have different zero points (${a.model.z}, ${b.model.z})`));
          inSide = { model: { s, z: a.model.z * a.scale }, codes: [Math.min(aLo, bLo), Math.max(aHi, bHi)], type: smallestIntFor(Math.min(alo, blo, 0), Math.max(ahi, bhi, 0)), elems: NaN, positions: input.positions };
        } else {
          const z = a.model.z * a.scale + b.model.z * b.scale;
          if (!Number.isInteger(z)) throw new KilnError(cannotLower(L, 'the zero points of its branches do not add up to an integer code'));
          inSide = { model: { s, z }, codes: [aLo + bLo, aHi + bHi], type: smallestIntFor(alo + blo, ahi + bhi), elems: NaN, positions: input.positions };
        }
      } else {
        const a = ins[0]!;
        inSide = { model: a.model, codes: a.codes, type: a.type, elems: numel(v.shapes.get(L.inputs[0]) ?? [NaN]), positions: input.positions };
      }
      const edges = edgesFrom(v, L.outputs[0], outputTensor);
      if (edges.length === 0) throw new KilnError(cannotLower(L, 'its output reaches neither a layer nor the graph output'));
      let plan: LayerPlan | undefined;
      const bEdges: BranchEdge[] = [];
      edges.forEach((e, k) => {
        // A join input that will be scaled up must stay a Threshold (Requant outputs cannot be multiplied exactly).
        const mineS = edgeScale(e);
        const partnerS = e.to && isJoin(v, e.to) ? joinPartnerScale(v, e.to, e.port, outputTensor, edgeScale) : undefined;
        const scaled = mineS !== undefined && partnerS !== undefined && mineS > partnerS;
        const res = lowerLayer(v, L, e.nodes, e.to === undefined, inSide, scaled ? { ...opts, maxThresholdSteps: Infinity } : opts, notes);
        if (!plan) plan = res.plan;
        else if (res.plan.weights.some((w, i) => w !== plan!.weights[i])) throw new KilnError(cannotLower(L, 'its consumers need differently signed activations (a decreasing one on one branch only)'));
        const act = res.plan.act;
        // A join input: scale up the branch with the larger code scale (exact for thresholds).
        let scale = 1;
        if (e.to && isJoin(v, e.to) && res.next) {
          const mine = res.next.model.s;
          const sOther = joinPartnerScale(v, e.to, e.port, outputTensor, edgeScale);
          if (sOther !== undefined && mine > sOther) {
            const f = mine / sOther;
            if (!Number.isInteger(f)) throw new KilnError(cannotLower(e.to, `branch scales ${mine} and ${sOther} are not integer multiples of each other`));
            if (f !== 1 && act.kind !== 'threshold') throw new KilnError(cannotLower(e.to, `its input branch with scale ${mine} must be ×${f} to align with ${sOther}, which needs a Threshold activation (this one is ${act.kind})`));
            scale = f;
          }
        }
        const codes = res.next ? res.next.codes.map((c) => c * scale) : [];
        const outType = act.kind === 'none' ? res.plan.accType : scale === 1 ? (res.next?.type ?? act.outType) : smallestIntFor(Math.min(codes[0], 0), Math.max(codes[codes.length - 1], 0));
        bEdges.push({ act, quantizer: res.plan.quantizer, origin: res.plan.origin.slice(1), after: res.after, scale, to: e.to?.name, outType });
        if (e.to && res.next) state.set(`${e.to.name}:${e.port}`, { model: res.next.model, codes: res.next.codes, type: outType, node: L.name, edge: k, scale });
        else if (e.to) throw new KilnError(cannotLower(L, 'no quantizer between this layer and the next'));
        if (!e.to) {
          outputAffine = res.affine;
          tail = res.after;
        }
      });
      layers.push(plan!);
      const inputs = (ins as EdgeState[]).map((x) => ({ node: x.node, edge: x.edge }));
      nodes.push({ name: L.name, plan: plan!, inputs, edges: bEdges });
    } catch (e) {
      fail(e);
    }
  }
  if (problems.length) throw new KilnError(problems);
  if (!outputAffine) throw new KilnError({ code: Code.CannotLower, message: `cannot lower: no layer reaches the graph output '${outputTensor}'` });
  notes.push(`branched graph: ${nodes.length - 1} layers, ${nodes.filter((n) => n.edges.length > 1).length} duplicated accumulators, ${v.path.filter((n) => isJoin(v, n)).length} residual joins`);
  return { nodes, layers, outputAffine, tail };
}

/** The code scale the other input of join `j` arrives with (from its edge's last quantizer). */
function joinPartnerScale(v: GraphView, j: Node, port: number, outputTensor: string, edgeScale: (e: Edge) => number | undefined): number | undefined {
  const x = runtimeInputsOf(v, j)[1 - port];
  // Walk back from x to the layer node (or input) that produces its chain, then take that edge.
  let t = x;
  for (;;) {
    const p = v.producer.get(t);
    if (!p || isLayerNode(v, p)) break;
    t = runtimeInputsOf(v, p)[0];
  }
  const e = edgesFrom(v, t, outputTensor).find((e) => e.to === j && e.port === 1 - port);
  return e ? edgeScale(e) : undefined;
}

/** Stream position tables of the run-time tensors (src/lower/spatial.ts), from the input's table. */
function propagatePositions(v: GraphView, inPos: Int32Array): Map<string, Int32Array> {
  const pos = new Map<string, Int32Array>([[v.input, inPos]]);
  for (const n of v.path) {
    const x = pos.get(n.inputs[v.dynIndex.get(n)!]);
    const shape = v.shapes.get(n.outputs[0]);
    if (!x || !shape) continue;
    if (SPATIAL_MACS.has(n.op) || CODE_OPS.has(n.op) || n.op === 'Concat') {
      if (shape.length === 4) pos.set(n.outputs[0], nchwPositions(shape[1], shape[2], shape[3]));
    } else if (MACS.has(n.op)) pos.set(n.outputs[0], identityPositions(numel(shape)));
    else if (LAYOUT.has(n.op)) {
      // Run the layout op itself on the table: it moves the positions as it would move the data.
      const rest = n.inputs.slice(1).map((i) => (i === '' ? undefined : v.consts.get(i)));
      const t = runNode(v.g, n, [makeTensor('float32', v.shapes.get(n.inputs[0])!, Float32Array.from(x)), ...rest])[0];
      pos.set(n.outputs[0], Int32Array.from(toNumbers(t)));
    } else if (numel(shape) === x.length) pos.set(n.outputs[0], x);
  }
  return pos;
}

/**
 * Positions of every run-time tensor, and the host's input reordering: when the first layer is
 * spatial and its input (through any layout ops) is not an NCHW image in stream order, the host
 * feeds stream element j = input element order[j] (NCHW → NHWC; identity for channels-last models).
 */
function trackPositions(v: GraphView): { positions: Map<string, Int32Array>; order?: number[] } {
  const n0 = numel(v.shapes.get(v.input) ?? [1]);
  const positions = propagatePositions(v, identityPositions(n0));
  const first = v.path.find((n) => MACS.has(n.op) || CODE_OPS.has(n.op));
  if (!first || !(SPATIAL_MACS.has(first.op) || CODE_OPS.has(first.op))) return { positions };
  const shape = v.shapes.get(first.inputs[0]);
  const src = positions.get(first.inputs[0]);
  if (!shape || shape.length !== 4 || !src) return { positions };
  const want = nchwPositions(shape[1], shape[2], shape[3]);
  if (samePositions(src, want)) return { positions };
  const inPos = new Int32Array(n0);
  const order = new Array<number>(n0);
  for (let i = 0; i < n0; i++) {
    inPos[src[i]] = want[i];
    order[want[i]] = src[i];
  }
  return { positions: propagatePositions(v, inPos), order };
}

/** Index in `nodes` of the activation quantizer that is followed by layout and code ops only, or −1. */
function lastActivation(nodes: Node[]): number {
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (LAYOUT.has(n.op) || CODE_OPS.has(n.op)) continue;
    return ['Quant', 'IntQuant', 'BipolarQuant', 'Sign', 'DequantizeLinear', 'QuantizeLinear'].includes(n.op) ? i : -1;
  }
  return -1;
}

/** Where the quantizer group ending at index qi starts (QuantizeLinear [→ Clip] → DequantizeLinear). */
function prefixQuantStart(nodes: Node[], qi: number): number {
  if (nodes[qi].op !== 'DequantizeLinear') return qi;
  let i = qi - 1;
  while (i >= 0 && (nodes[i].op === 'Clip' || LAYOUT.has(nodes[i].op))) i--;
  return i >= 0 && nodes[i].op === 'QuantizeLinear' ? i : qi;
}

/**
 * The host boundary before the input quantizer: u = clamp(p·x + q, lo, hi) for the per-tensor affine ops
 * (Add/Sub/Mul/Div by a scalar) and clamps (Relu, Clip, scalar Max/Min) there. A quantizer is monotone,
 * so Q(clamp(u, lo, hi)) = clamp(Q(u), Q(lo), Q(hi)): the clamp becomes a code clip on the host (and
 * vanishes where the quantizer already clips there, as for a Relu before an unsigned Quant).
 */
function prefixAffine(v: GraphView, nodes: Node[], problems: Diagnostic[]): { p: number; q: number; lo: number; hi: number } {
  let p = 1;
  let q = 0;
  let lo = -Infinity;
  let hi = Infinity;
  for (const n of nodes) {
    if (LAYOUT.has(n.op)) continue;
    const d = v.dynIndex.get(n)!;
    const clamp = scalarClamp(v, n);
    if (clamp) {
      const cl = (t: number) => Math.min(Math.max(t, clamp[0]), clamp[1]);
      [lo, hi] = [cl(lo), cl(hi)];
      continue;
    }
    const ok = ['Add', 'Sub', 'Mul', 'Div'].includes(n.op);
    const c = ok ? toNumbers(v.consts.get(n.inputs[1 - d]) ?? makeTensor('float32', [0])) : [];
    if (!ok || c.length !== 1 || ((n.op === 'Mul' || n.op === 'Div') && !(c[0] !== 0 && Number.isFinite(c[0])))) {
      problems.push(cannotLower(n, 'host boundary: only per-tensor scalar Add/Sub/Mul/Div and clamps (Relu, Clip, scalar Max/Min) may precede the input quantizer; move other ops after it'));
      continue;
    }
    const k = c[0];
    // The clamp interval moves with the value: an affine map of a clamp is a clamp of the affine map.
    const map = (f: (t: number) => number) => {
      const [a, b] = [f(lo), f(hi)];
      [lo, hi] = a <= b ? [a, b] : [b, a];
    };
    if (n.op === 'Add') { q += k; map((t) => t + k); }
    else if (n.op === 'Sub') {
      if (d === 0) { q -= k; map((t) => t - k); }
      else { p = -p; q = k - q; map((t) => k - t); }
    }
    else if (n.op === 'Mul') { p *= k; q *= k; map((t) => t * k); }
    else { p /= k; q /= k; map((t) => t / k); }
  }
  return { p, q, lo, hi };
}

/**
 * The codes of a clamped input: [Q(lo), Q(hi)] within the quantizer's codes (Q monotone, so
 * Q(clamp(u)) = clamp(Q(u))). undefined for bipolar / sign quantizers when the clamp changes their codes.
 */
function clampCodes(q: InputQuantizer, valueQ: { scale: number; zeroPoint: number }, lo: number, hi: number, codes: number[]): [number, number] | undefined {
  const on = { ...q, scale: [valueQ.scale], zeroPoint: [valueQ.zeroPoint], order: undefined };
  const [cLo, cHi] = quantizeInput(on, [lo, hi]);
  const [kLo, kHi] = [codes[0], codes[codes.length - 1]];
  if (q.mode === 'round') return [Math.max(kLo, cLo), Math.min(kHi, cHi)];
  return cLo <= kLo && cHi >= kHi ? [kLo, kHi] : undefined;
}

/** [lo, hi] when n (Relu, Clip, Max/Min with one scalar constant) is x ↦ clamp(x, lo, hi), by evaluation. */
function scalarClamp(v: GraphView, n: Node): [number, number] | undefined {
  if (!['Relu', 'Clip', 'Max', 'Min'].includes(n.op)) return undefined;
  const d = v.dynIndex.get(n)!;
  const others = n.inputs.filter((x, i) => i !== d && x !== '');
  if (others.some((x) => !v.consts.has(x) || numel(v.consts.get(x)!.shape) !== 1)) return undefined;
  const probes = [-3e38, -1e6, -1, -0.5, 0, 0.5, 1, 1e6, 3e38];
  const run = (xs: number[]) => {
    const inputs = n.inputs.map((x, i) => (i === d ? makeTensor('float32', [xs.length], xs) : x === '' ? undefined : v.consts.get(x)));
    return Array.from(toNumbers(runNode(v.g, n, inputs)[0]));
  };
  const [a, b] = run([-3e38, 3e38]);
  const lo = a <= -3e38 ? -Infinity : a;
  const hi = b >= 3e38 ? Infinity : b;
  if (!(lo <= hi)) return undefined;
  const ys = run(probes);
  return probes.every((t, i) => ys[i] === Math.fround(Math.min(Math.max(t, lo), hi))) ? [lo, hi] : undefined;
}

interface InSide {
  model: CodeModel;
  codes: number[];
  type: QType;
  elems: number;
  /** Stream position of every element of each run-time tensor (src/lower/spatial.ts). */
  positions: Map<string, Int32Array>;
}

/** A MAC-like layer's integer weights: rows × cols (row-major, stream column order), per-row scale. */
interface MacWeights {
  rows: number;
  cols: number;
  W: number[];
  sw: number[];
  unit: 'mvu' | 'depthwise' | 'avgpool' | 'add' | 'concat';
  window?: Window2d;
  concat?: { aChannels: number; pixels: number };
  global?: boolean;
  padCode?: number;
  /** A Conv's float bias per row. */
  bias?: number[];
}

/** MatMul / Gemm / QOperator weights, columns in the stream order of the input vector. */
function matrixWeights(v: GraphView, mac: Node, input: InSide, notes: string[]): MacWeights {
  let transB = 0;
  if (mac.op === 'Gemm') {
    if (attrInt(mac, 'transA', 0) !== 0) throw new KilnError(cannotLower(mac, 'transA = 1'));
    transB = attrInt(mac, 'transB', 0);
  }
  const iw = INTEGER_MACS.has(mac.op) ? qoperatorWeights(v, mac) : integerWeights(v, mac.inputs[1], mac, notes);
  if (iw.shape.length !== 2) throw new KilnError(cannotLower(mac, `weights of rank ${iw.shape.length}, not 2`));
  const [d0, d1] = iw.shape;
  const rows = transB ? d0 : d1;
  const cols = transB ? d1 : d0;
  if (cols !== input.elems && !Number.isNaN(input.elems)) throw new KilnError(cannotLower(mac, `takes ${cols} inputs but the stream carries ${input.elems}`));
  // Column c of the model's vector arrives at stream position pos[c] (e.g. an NCHW flatten of an NHWC stream).
  const pos = input.positions.get(mac.inputs[0]);
  const at = pos && pos.length === cols ? pos : identityPositions(cols);
  const W = new Array<number>(rows * cols);
  const sw = new Array<number>(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = transB ? r * cols + c : c * rows + r;
      W[r * cols + at[c]] = iw.w[i];
      if (c === 0) sw[r] = iw.s[i];
      else if (iw.s[i] !== sw[r]) throw new KilnError(cannotLower(mac, 'weight scale varies along the input dimension'));
    }
  }
  return { rows, cols, W, sw, unit: 'mvu' };
}

/** A residual Add as a MAC-like layer: the AddStreams sum is the accumulator (one column of ones per channel). */
function joinWeights(v: GraphView, n: Node): MacWeights {
  const shape = v.shapes.get(n.outputs[0]) ?? [];
  const C = shape.length === 4 ? shape[1] : numel(shape);
  const ones = new Array<number>(C).fill(1);
  if (n.op === 'Add') return { rows: C, cols: 1, W: ones, sw: [...ones], unit: 'add' };
  // Concat: values pass unchanged (one column of ones per channel), on the channel axis only.
  const axis = attrInt(n, 'axis', 1);
  if (axis !== 1 && axis !== 1 - shape.length) throw new KilnError(cannotLower(n, `Concat on axis ${axis} (only the channel axis 1 lowers)`));
  const a = v.shapes.get(runtimeInputsOf(v, n)[0]) ?? [];
  return { rows: C, cols: 1, W: ones, sw: [...ones], unit: 'concat', concat: { aChannels: a[1], pixels: shape.length === 4 ? shape[2] * shape[3] : 1 } };
}

/** The input image [C, H, W] of a spatial node, checked to be in stream (NHWC) order. */
function imageInput(v: GraphView, n: Node, positions: Map<string, Int32Array>): [number, number, number] {
  const dims = imageDims(n, v.shapes.get(n.inputs[0]));
  const pos = positions.get(n.inputs[0]);
  if (pos && !samePositions(pos, nchwPositions(...dims))) {
    throw new KilnError(cannotLower(n, 'its input image is not in stream order (a layout op between layers reorders it; only the graph input may be reordered, on the host)'));
  }
  return dims;
}

/** Conv (group 1 or depthwise), AveragePool, GlobalAveragePool as rows × window-column weights. */
function spatialWeights(v: GraphView, mac: Node, input: InSide, notes: string[]): MacWeights {
  const dims = imageInput(v, mac, input.positions);
  const [C, H, Wd] = dims;
  const padCode = input.model.z;
  if (!Number.isInteger(padCode)) throw new KilnError(cannotLower(mac, `input zero point ${padCode} is not an integer code (padding needs the code of 0)`));
  const ones = (n: number) => new Array<number>(n).fill(1);
  if (mac.op === 'GlobalAveragePool') {
    const window: Window2d = { ih: H, iw: Wd, channels: C, kh: H, kw: Wd, sh: 1, sw: 1, dh: 1, dw: 1, pads: [0, 0, 0, 0], oh: 1, ow: 1 };
    return { rows: C, cols: H * Wd, W: ones(C * H * Wd), sw: ones(C), unit: 'avgpool', window, global: true, padCode };
  }
  if (mac.op === 'AveragePool') {
    const window = window2d(mac, dims, poolKernel(mac));
    if (window.pads.some((p) => p > 0) && attrInt(mac, 'count_include_pad', 0) === 0) {
      throw new KilnError(cannotLower(mac, 'padding with count_include_pad = 0 (border windows divide by fewer taps; only count_include_pad = 1 is exact here)'));
    }
    const K = window.kh * window.kw;
    return { rows: C, cols: K, W: ones(C * K), sw: ones(C), unit: 'avgpool', window, padCode };
  }
  const iw = integerWeights(v, mac.inputs[1], mac, notes);
  if (iw.shape.length !== 4) throw new KilnError(cannotLower(mac, `only 2-D convolutions lower, not weights of rank ${iw.shape.length}`));
  const [M, Cg, kh, kw] = iw.shape;
  const group = attrInt(mac, 'group', 1);
  const depthwise = group > 1 && group === C && M === C && Cg === 1;
  if (C !== Cg * group || M % group !== 0) throw new KilnError(cannotLower(mac, `group = ${group} does not divide ${C} input and ${M} output channels`));
  // Other groupings (1 < group, or depthwise with a channel multiplier) become one MVU with a
  // block-diagonal weight matrix: exact; the zeros cost no logic unrolled, but cycles when folded.
  if (group > 1 && !depthwise) notes.push(`${mac.name}: group = ${group} convolution as an MVU with block-diagonal weights (${group}× the MACs of a grouped unit when folded)`);
  const window = window2d(mac, dims, [kh, kw]);
  const K = kh * kw;
  const cols = depthwise ? K : K * C;
  const W = new Array<number>(M * cols).fill(0);
  const sw = new Array<number>(M);
  for (let r = 0; r < M; r++) {
    const c0 = depthwise ? 0 : Math.floor(r / (M / group)) * Cg; // first input channel of r's group
    for (let c = 0; c < Cg; c++) {
      for (let k = 0; k < K; k++) {
        const i = (r * Cg + c) * K + k;
        // SlidingWindow order: tap-major, channel-minor ((ky·kw + kx)·C + c).
        W[r * cols + (depthwise ? k : k * C + c0 + c)] = iw.w[i];
        if (c === 0 && k === 0) sw[r] = iw.s[i];
        else if (iw.s[i] !== sw[r]) throw new KilnError(cannotLower(mac, 'weight scale varies within an output channel'));
      }
    }
  }
  const bias = mac.inputs[2] ? toNumbers(constOf(v, mac.inputs[2], mac)) : undefined;
  return { rows: M, cols, W, sw, unit: depthwise ? 'depthwise' : 'mvu', window, padCode, bias };
}

/** MaxPool / Pad nodes acting on codes of model `m` whose smallest code is `lowest`. */
function codeOps(v: GraphView, nodes: Node[], m: CodeModel, lowest: number, positions: Map<string, Int32Array>): CodeOp[] {
  return nodes.map((n): CodeOp => {
    const dims = imageInput(v, n, positions);
    if (!(m.s > 0)) throw new KilnError(cannotLower(n, `${n.op} on codes with a non-positive scale ${m.s}`));
    if (n.op === 'MaxPool') {
      if (n.outputs.length > 1 && n.outputs[1]) throw new KilnError(cannotLower(n, 'the Indices output'));
      // ONNX pads MaxPool with −∞; the smallest code never wins a window that overlaps the image.
      return { op: 'maxpool', origin: n.name, window: window2d(n, dims, poolKernel(n)), padCode: lowest };
    }
    const mode = n.attrs.mode?.kind === 'string' ? n.attrs.mode.v : 'constant';
    if (mode !== 'constant') throw new KilnError(cannotLower(n, `mode ${mode} (only constant padding)`));
    if (n.inputs[3]) throw new KilnError(cannotLower(n, 'the axes input'));
    const pads = n.inputs[1] ? toNumbers(constOf(v, n.inputs[1], n)) : attrInts(n, 'pads', []);
    const value = n.inputs[2] ? toNumbers(constOf(v, n.inputs[2], n))[0] ?? 0 : attrFloat(n, 'value', 0);
    const code = value / m.s + m.z;
    if (!Number.isInteger(code)) throw new KilnError(cannotLower(n, `pad value ${value} is not a code of its stream (scale ${m.s}, zero point ${m.z})`));
    return { op: 'pad', origin: n.name, ih: dims[1], iw: dims[2], channels: dims[0], pads: padAmounts(n, pads, 4), padCode: code };
  });
}

function lowerLayer(v: GraphView, mac: Node, chainNodes: Node[], last: boolean, input: InSide, opts: StreamlineOptions, notes: string[]):
  { plan: LayerPlan; next?: { model: CodeModel; codes: number[]; type: QType }; affine?: OutputAffine; after: CodeOp[] } {
  const spatial = SPATIAL_MACS.has(mac.op) || ((mac.op === 'Add' || mac.op === 'Concat') && (v.shapes.get(mac.outputs[0])?.length ?? 0) === 4);
  const integerMac = INTEGER_MACS.has(mac.op);
  if (integerMac && (input.model.s !== 1 || input.model.z !== 0)) {
    throw new KilnError(cannotLower(mac, 'its input must be integer codes (from QuantizeLinear or QLinearMatMul)'));
  }
  // QOperator MACs take their input zero point themselves; codes arrive raw (scale 1, zero point 0).
  const inZero = integerMac ? scalarOf(v, mac.inputs[2], mac, 0, 'the input zero point') : input.model.z;
  const mw = mac.op === 'Add' || mac.op === 'Concat' ? joinWeights(v, mac) : spatial ? spatialWeights(v, mac, input, notes) : matrixWeights(v, mac, input, notes);
  const { rows, cols, W, sw } = mw;
  // The MAC's ideal float output per row: v = α[r]·acc + β[r] (a Conv's bias folds into β: the ONNX
  // Conv adds it to its float64 sum before the one rounding to float32).
  const sIn = input.model.s;
  const alpha = sw.map((s) => (mw.unit === 'avgpool' ? sIn / cols : sIn * s));
  const beta = alpha.map((a, r) => {
    let sum = 0;
    for (let c = 0; c < cols; c++) sum += W[r * cols + c];
    return (mw.bias?.[r] ?? 0) + (inZero === 0 ? 0 : -a * inZero * sum);
  });

  // Code ops (MaxPool, Pad) in the segment: after the activation they act on its codes; a MaxPool
  // before the quantizer moves after it when everything between is non-decreasing (max commutes).
  const qi0 = lastActivation(chainNodes);
  const chainPart = qi0 >= 0 ? chainNodes.slice(0, qi0 + 1) : chainNodes;
  const codeNodes: Node[] = [];
  const chainOnly: Node[] = [];
  chainPart.forEach((n, i) => {
    if (!CODE_OPS.has(n.op)) return void chainOnly.push(n);
    if (n.op !== 'MaxPool' || qi0 < 0) throw new KilnError(cannotLower(n, qi0 < 0 ? `${n.op} of an unquantized tensor` : 'Pad before the activation quantizer'));
    const bad = chainPart.slice(i + 1).find((m) => !NON_DECREASING.has(m.op) && !LAYOUT.has(m.op) && !CODE_OPS.has(m.op));
    if (bad) throw new KilnError(cannotLower(n, `MaxPool before '${bad.name}' (${bad.op}), which may be decreasing: max does not commute with it`));
    codeNodes.push(n);
  });
  if (qi0 >= 0) codeNodes.push(...chainNodes.slice(qi0 + 1).filter((n) => CODE_OPS.has(n.op)));
  chainNodes = [...chainOnly, ...(qi0 >= 0 ? chainNodes.slice(qi0 + 1).filter((n) => !CODE_OPS.has(n.op)) : [])];

  const chain = new Chain(v, rows, spatial);
  if (mac.op === 'Gemm') {
    const a = attrFloat(mac, 'alpha', 1);
    const b = attrFloat(mac, 'beta', 1);
    if (a !== 1) chain.pushConst('Mul', [makeTensor('float32', [], [a])], `${mac.name}_alpha`);
    if (mac.inputs[2]) {
      const cT = constOf(v, mac.inputs[2], mac);
      const cv = toNumbers(cT).map((x) => Math.fround(x * b));
      chain.pushConst('Add', [makeTensor('float32', cT.shape, cv)], `${mac.name}_bias`);
    }
  }
  if (mac.op === 'QLinearMatMul') {
    // onnxruntime/MLAS requantization (as src/exec/ops/qoperator.ts): saturate(rne(f32(acc)·ratio) + y_zp)
    // with ratio = f32(f32(a_scale·b_scale[n]) / y_scale) — a float32 Mul, then QuantizeLinear(1, y_zp).
    const as = scalarOf(v, mac.inputs[1], mac, 1, 'a_scale');
    const ys = scalarOf(v, mac.inputs[6], mac, 1, 'y_scale');
    const bs = toNumbers(constOf(v, mac.inputs[4], mac));
    const ratio = Array.from({ length: rows }, (_, n) => Math.fround(Math.fround(as * bs[bs.length === 1 ? 0 : n]) / ys));
    chain.pushConst('Mul', [makeTensor('float32', [rows], ratio)], `${mac.name}_ratio`);
    chain.pushConst('QuantizeLinear', [makeTensor('float32', [], [1]), constOf(v, mac.inputs[7], mac)], `${mac.name}_requant`);
  }
  for (const n of chainNodes) {
    if (!spatial && !isLayoutPreserving(v, n)) throw new KilnError(cannotLower(n, 'a transpose that reorders elements'));
    chain.push(n);
  }
  const unitFields = { unit: mw.unit, ...(mw.concat ? { concat: mw.concat } : {}), ...(mw.window ? { window: mw.window, padCode: mw.padCode } : {}), ...(mw.global ? { global: true } : {}) };
  const origin = [mac.name, ...chainNodes.map((n) => n.name)];
  const qi = lastActivation(chainNodes);
  // Padding enters the window as the code of float 0 (the input zero point).
  const [xlo, xhi] = [Math.min(input.codes[0], mw.padCode ?? Infinity), Math.max(input.codes[input.codes.length - 1], mw.padCode ?? -Infinity)];
  const accRange = (ws: number[], r: number): ChannelRange => {
    const [lo, hi] = rowAccRange(ws, r, cols, xlo, xhi);
    return { lo, hi };
  };

  if (qi < 0 && mac.op !== 'QLinearMatMul') {
    const af = chain.affine(alpha, beta);
    const accType = mvuOutType(rows, cols, input.type, W);
    const plan: LayerPlan = { mac: mac.name, origin, rows, cols, weights: W, weightType: weightQType(W), inType: input.type, accType, act: { kind: 'none' }, ...unitFields };
    if (last) {
      if (!af) throw new KilnError(cannotLower(chainNodes.find((n) => !LAYOUT.has(n.op) && !['Add', 'Sub', 'Mul', 'Div', 'Neg', 'BatchNormalization'].includes(n.op)) ?? mac, 'the last layer must end in a quantizer or in affine ops only'));
      return { plan, affine: { scale: af.a, offset: af.b }, after: [] };
    }
    // No quantizer before the next MAC: exact only when the output stays on one grid, y = a·(acc + b)
    // with a per-tensor a and integer b per channel (power-of-two scales, QKeras conv → conv). The
    // bias add is a Requant with M = 1, shift 0.
    const a0 = af?.a[0];
    const bInt = af && a0 !== undefined && a0 > 0 && af.a.every((a) => a === a0) ? af.b.map((b) => b / a0) : undefined;
    if (!bInt || !bInt.every((b) => Number.isSafeInteger(b))) {
      throw new KilnError(cannotLower(mac, 'the next MAC\'s input is not quantized (no quantizer after this MAC, and its output is not on one integer grid); quantize the activation first'));
    }
    const ranges = Array.from({ length: rows }, (_, r) => accRange(W, r));
    const lo = Math.min(...ranges.map((r, i) => r.lo + bInt[i]));
    const hi = Math.max(...ranges.map((r, i) => r.hi + bInt[i]));
    const outType = smallestIntFor(Math.min(lo, 0), Math.max(hi, 0));
    const act: Activation = bInt.every((b) => b === 0) ? { kind: 'none' } : { kind: 'requant', mul: new Array(rows).fill(1), bias: bInt, shift: 0, outType };
    notes.push(`${mac.name}: no quantizer before the next MAC; its output stays on the grid ${a0} (integer bias add)`);
    return { plan: { ...plan, act }, next: { model: { s: a0!, z: 0 }, codes: [lo, hi], type: act.kind === 'none' ? accType : act.outType }, after: [] };
  }

  // The activation: the last quantizer of the chain, or QLinearMatMul's own requantization.
  const qn = qi >= 0 ? chainNodes[qi] : mac;
  const model: CodeModel = qi >= 0 ? codeModel(v, qn) : { s: 1, z: 0 };
  // k(r, acc) for the UNnegated weights; σ[r] = −1 flips decreasing rows.
  const sigma = new Array<number>(rows).fill(1);
  let xs = new Float32Array(0); // the fast path's MAC outputs, kept across calls
  const code = (ch: Int32Array, acc: Float64Array): Float64Array => {
    const fast = chain.fast();
    if (fast) {
      // The compiled chain on the queries as they come (same MAC outputs, same float32 ops as below).
      if (xs.length < ch.length) xs = new Float32Array(Math.max(ch.length, 2 * xs.length));
      const x = xs.subarray(0, ch.length);
      for (let j = 0; j < ch.length; j++) {
        const r = ch[j];
        x[j] = Math.fround(alpha[r] * (sigma[r] * acc[j]) + beta[r]);
      }
      const y = fast(x, ch); // a new array: the codes replace the values in place
      try {
        for (let j = 0; j < ch.length; j++) y[j] = codeOf(y[j], model, qn);
        return y;
      } catch {
        // An output off the quantizer's grid: the generic path below reports it (its first, in its order).
      }
    }
    // Lay the queries out as a [n, rows] tensor, one column per channel (a channel with fewer
    // queries repeats its last one). Channel r's queries, in order, are idx[start[r] … start[r+1]).
    const start = new Int32Array(rows + 1);
    for (let j = 0; j < ch.length; j++) start[ch[j] + 1]++;
    let n = 1;
    for (let r = 0; r < rows; r++) {
      n = Math.max(n, start[r + 1]);
      start[r + 1] += start[r];
    }
    const idx = new Int32Array(ch.length);
    const fill = start.slice(0, rows);
    for (let j = 0; j < ch.length; j++) idx[fill[ch[j]]++] = j;
    const x = new Float32Array(n * rows);
    for (let r = 0; r < rows; r++) {
      const count = start[r + 1] - start[r];
      for (let i = 0; i < n; i++) {
        const a = count === 0 ? 0 : sigma[r] * acc[idx[start[r] + Math.min(i, count - 1)]];
        x[i * rows + r] = Math.fround(alpha[r] * a + beta[r]);
      }
    }
    const y = chain.eval(x, n);
    const out = new Float64Array(ch.length);
    for (let r = 0; r < rows; r++) {
      for (let i = 0, k = start[r]; k < start[r + 1]; i++, k++) out[idx[k]] = codeOf(y[i * rows + r], model, qn);
    }
    return out;
  };
  // Direction of each row from its extremes (monotone chain).
  const ranges0 = Array.from({ length: rows }, (_, r) => accRange(W, r));
  const allCh = Int32Array.from({ length: 2 * rows }, (_, j) => j % rows);
  const allAcc = Float64Array.from({ length: 2 * rows }, (_, j) => (j < rows ? ranges0[j].lo : ranges0[j - rows].hi));
  const ext = code(allCh, allAcc);
  for (let r = 0; r < rows; r++) {
    if (ext[r] > ext[rows + r]) {
      if (mw.unit === 'avgpool' || mw.unit === 'add' || mw.unit === 'concat') throw new KilnError(cannotLower(qn, `${mw.unit === 'add' ? 'a residual Add' : 'an average pool'} followed by a decreasing activation (negative scale)`));
      sigma[r] = -1;
      for (let c = 0; c < cols; c++) W[r * cols + c] = -W[r * cols + c] || 0;
    }
  }
  const ranges = Array.from({ length: rows }, (_, r) => accRange(W, r));
  const kMin = Math.min(...ranges0.map((_, r) => Math.min(ext[r], ext[rows + r])));
  const kMax = Math.max(...ranges0.map((_, r) => Math.max(ext[r], ext[rows + r])));
  if (kMax - kMin > 4096) throw new KilnError(cannotLower(qn, `${kMax - kMin + 1} output levels (at most 4097 are supported)`));
  const T = kMax > kMin ? searchThresholds(code, ranges, kMin, kMax) : ranges.map(() => []);
  const reached = [...new Set(T.flatMap((t, r) => reachedCodes(t, ranges[r], kMin)))].sort((a, b) => a - b);
  const weightType = weightQType(W);
  const accType = mvuOutType(rows, cols, input.type, W);
  const step = progressionStep(reached);
  const levels = step === undefined ? Array.from({ length: kMax - kMin + 1 }, (_, i) => kMin + i) : reached;
  const outType = codeQType(levels);
  const maxSteps = opts.maxThresholdSteps ?? 15;
  let act: Activation | undefined;
  if (levels.length - 1 > maxSteps && (step ?? 1) === 1 && outType.kind === 'INT') {
    const [olo, ohi] = range(outType);
    const full = T.map((t, r) => {
      const out: number[] = [];
      for (let l = olo + 1; l <= ohi; l++) out.push(l <= kMin ? ranges[r].lo : l > kMax ? ranges[r].hi + 1 : t[l - kMin - 1]);
      return out;
    });
    const fit = fitRequant(full, ranges, olo, ohi);
    if (fit) {
      act = { kind: 'requant', mul: fit.mul, bias: fit.add, shift: fit.shift, outType };
      if (fit.round === 'half-even') {
        act.round = 'half-even';
        notes.push(`${qn.name}: requantization rounds half to even (shift ${fit.shift}; no exact floor one)`);
      }
    } else notes.push(`${qn.name}: no exact requantization (floor or half-even), using ${levels.length - 1} thresholds`);
  }
  if (!act && levels.length === 1) {
    // Every channel is constant: one threshold no accumulator reaches keeps the layer well formed.
    act = { kind: 'threshold', thresholds: ranges.map((r) => [r.hi + 1]), outBias: levels[0], outScale: 1, outType: codeQType([levels[0], levels[0] + 1]) };
  }
  if (!act) {
    const thresholds = T.map((t) => levels.slice(1).map((l) => t[l - kMin - 1]));
    act = { kind: 'threshold', thresholds, outBias: levels[0], outScale: step ?? 1, outType };
  }
  verifyActivation(code, ranges, act, qn);
  const plan: LayerPlan = { mac: mac.name, quantizer: qn.name, origin, rows, cols, weights: W, weightType, inType: input.type, accType, act, ...unitFields };
  const after = codeOps(v, codeNodes, model, levels[0], input.positions);
  if (last) return { plan, affine: { scale: new Array(rows).fill(model.s), offset: new Array(rows).fill(-model.z * model.s) }, after };
  return { plan, next: { model, codes: [levels[0], levels[levels.length - 1]], type: act.kind === 'none' ? outType : act.outType }, after };
}
