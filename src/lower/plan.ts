// The lowering's data: what src/passes/streamline.ts produces (an integer plan per layer, consumed
// by src/passes/to-dataflow.ts) and the values the rules in src/lower/rules/ pass each other.
import type { QType } from '../ir/datatype.ts';
import type { InputQuantizer, OutputAffine } from '../ir/dataflow.ts';
import type { RequantRound } from '../layers/common/requant-value.ts';
import type { Window2d } from './spatial.ts';

export interface StreamlineOptions {
  /** Model file: generated-file headers, and the commands refusals suggest. */
  source?: string;
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
  /** The layer; absent on the first node, 'input' (the graph input). */
  plan?: LayerPlan;
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
  /** global: the window is the whole image (GlobalMaxPool), read straight from the stream (no SlidingWindow). */
  | { op: 'maxpool'; origin: string; window: Window2d; padCode: number; global?: boolean }
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

/** How the float value at an activation tensor encodes an integer code: y = (k − z)·s. */
export interface CodeModel { s: number; z: number }

export interface IntWeights { w: Float64Array; s: Float64Array; shape: number[] }

export interface InSide {
  model: CodeModel;
  codes: number[];
  type: QType;
  elems: number;
  /** Stream position of every element of each run-time tensor (src/lower/spatial.ts). */
  positions: Map<string, Int32Array>;
}

/** A MAC-like layer's integer weights: rows × cols (row-major, stream column order), per-row scale. */
export interface MacWeights {
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
