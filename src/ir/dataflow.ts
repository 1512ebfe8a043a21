// The dataflow IR: hardware layers joined by typed integer streams. This is what streamlining
// produces, what the integer reference executor runs, and what codegen turns into Verilog.
//
// Values: every stream element is an integer in its QType's value set (BIPOLAR as -1/+1, BINARY
// 0/1, TERNARY -1/0/+1, INTn/UINTn as two's complement / unsigned). One inference moves
// `numel(shape)` elements through a stream, in row-major order of `shape`.
//
// Bit packing on a stream beat carrying `fold` elements: element i of the beat sits at bits
// [i*W +: W] (element 0 in the least significant bits), W = bitWidth(qtype); BIPOLAR is one bit,
// 1 = +1 and 0 = -1; TERNARY is 2-bit two's complement.
//
// Layer semantics (the integer executor in src/exec/dataflow.ts is THE definition; each layer
// kind lives in src/layers/<kind>.ts):
//   MVU        y[r] = Σ_c W[r][c]·x[c]; W is rows×cols row-major integers of weightType. With
//              BIPOLAR weights and inputs the RTL computes it as 2·popcount(xnor) − cols.
//   Threshold  per channel c = (element index mod channels):
//              y = outBias + outScale · #{ i : x ≥ T[c][i] }, T[c] ascending.
//   Requant    y = clamp(R((x·M[c] + B[c]) / 2^shift), lo(outType), hi(outType)), R = floor (round
//              'floor', the default) or round half to even (round 'half-even': QuantizeLinear's ties).
//   LabelSelect  outputs the indices of the k largest inputs, ties to the lowest index.
//
// Layer attrs and consts per kind (datatypes written as names, e.g. 'INT4', 'BIPOLAR'; pe/simd default 1;
// src/layers/<kind>.ts checks them and is authoritative):
//   MVU          attrs {rows, cols, vectors, pe, simd, inType, weightType, outType}  consts {weights: rows·cols}
//                vectors (default 1): input vectors per inference, e.g. the output pixels of a convolution.
//                outType must hold the worst-case sum: use mvuOutType() from src/layers/mvu.ts.
//   Threshold    attrs {elems, channels, steps, pe, inType, outType, outBias, outScale}
//                consts {thresholds: channels·steps}  (channels divides elems; channels = 1 = per-tensor)
//   Requant      attrs {elems, channels, pe, shift, round ('floor' | 'half-even', default 'floor'; written only
//                when 'half-even'), inType, outType}  consts {mul, bias: channels each}
//   LabelSelect  attrs {n, k, pe, inType, outType (UINT holding n−1)}  consts {}
//   WidthConverter attrs {elems, inFold, outFold, qtype} (inserted by codegen between mismatched beats)
// runDataflow (src/exec/dataflow.ts) takes and returns element VALUES (BIPOLAR as ±1), one inference.
import type { QType } from './datatype.ts';

export interface Stream {
  name: string;
  qtype: QType;
  /** Elements per inference, e.g. [784] for a flattened MNIST image. */
  shape: number[];
}

export interface Layer {
  /** Unique, a valid Verilog identifier suffix (modules are `<kind>_<name>`). */
  name: string;
  /** Layer kind, e.g. 'MVU', 'Threshold', 'Requant', 'LabelSelect'. */
  kind: string;
  /** Kind-specific attributes: sizes, types, folding (pe, simd), …  Plain JSON. */
  attrs: Record<string, unknown>;
  /** Constant integer parameters: weights, thresholds, multipliers (flattened, row-major). */
  consts: Record<string, number[]>;
  inputs: string[];
  outputs: string[];
  /** The ONNX node(s) this layer came from, for messages and reports. */
  origin: string[];
  /** Why a choice the compiler made for this layer was made, by attribute (e.g. impl → the costs compared), for reports. */
  why?: Record<string, string>;
}

/** How the host turns a float input into the integer codes the hardware takes: code = clamp(roundHalfEven(x / scale + zeroPoint)). */
export interface InputQuantizer {
  scale: number[]; // per-tensor (length 1) or per-channel
  zeroPoint: number[];
  qtype: QType;
  /**
   * Added by streamlining (optional; absent = 'round'): 'round' is the formula above; 'bipolar'
   * (BipolarQuant) gives +1 if x/scale + zeroPoint ≥ 0 else −1; 'sign' (ONNX Sign) gives −1/0/+1.
   * src/lower/host.ts `quantizeInput` is the reference implementation (float32 x/scale + zeroPoint).
   */
  mode?: 'round' | 'bipolar' | 'sign';
  /** Optional clamp bounds when narrower than qtype's range (narrow quantizers, e.g. [-7, 7] in INT4). */
  clip?: [number, number];
  /**
   * Added for CNNs (optional; absent = identity): the host feeds stream element j = model input element
   * order[j] (after quantizing), e.g. an NCHW image as NHWC, channels innermost. Per-channel scales
   * index the model's element order. The one place where the model's layout meets the stream order.
   */
  order?: number[];
  /**
   * Set when the model's input is float and reaches its first layer unquantized, so kiln chose this
   * grid (lowering option floatInput, `kiln compile --input-type`): its name, e.g. 'FIXED<16,10>'.
   * The host's rounding is then an error against the model (src/lower/host.ts hostGrid).
   */
  chosenGrid?: string;
}

/** How the host turns output codes back into the model's float output: y[c] = scale[c]·code + offset[c]. */
export interface OutputAffine {
  scale: number[];
  offset: number[];
  /**
   * Added for CNNs (optional; absent = identity): model output element i = stream element order[i].
   * The affine applies in stream order (channel = stream index mod scale.length), before reordering.
   */
  order?: number[];
}

export interface DataflowGraph {
  name: string;
  /** Source model file, for generated-file headers. */
  source: string;
  streams: Map<string, Stream>;
  /** Topological order. */
  layers: Layer[];
  inputs: string[];
  outputs: string[];
  inputQuant: InputQuantizer[];
  outputAffine: OutputAffine[];
}
