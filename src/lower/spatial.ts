// Spatial layers for lowering CNNs: window geometry read from ONNX nodes, and the ONE place where the
// model's tensor layout meets the stream order.
//
// Stream order: an image travels as NHWC (channels innermost), row-major over [h, w, c]; a vector as
// its elements in order. ONNX tensors on the data path are NCHW (PyTorch, Brevitas) or, around
// Transposes, NHWC (QKeras/TF exports). Lowering tracks for every run-time tensor a position table
// `pos`: ONNX flat index (row-major over the tensor's shape) → stream position. Layout ops
// (Transpose, Reshape, Flatten, …) move no data in hardware; they only permute `pos` (computed by
// running the op itself on the table). Spatial ops need their input in NCHW whose `pos` is the
// NCHW → NHWC map; a MatMul takes any `pos` and absorbs it into its weight columns, which is how the
// NCHW flatten between the last conv and the first FC layer gets the right element order.
import { Code, KilnError } from '../diag/index.ts';
import { windowOf } from '../exec/kernels/window.ts';
import { attrInt, attrInts, attrString, type Node } from '../ir/graph.ts';
import { cannotLower } from './view.ts';

/** Geometry of a 2-D window op on an NHWC stream (pads: top, left, bottom, right). */
export interface Window2d {
  ih: number;
  iw: number;
  channels: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pads: [number, number, number, number];
  oh: number;
  ow: number;
}

/** Stream position of each NCHW flat index of a [1, C, H, W] tensor. */
export function nchwPositions(c: number, h: number, w: number): Int32Array {
  const pos = new Int32Array(c * h * w);
  for (let ci = 0; ci < c; ci++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) pos[(ci * h + y) * w + x] = (y * w + x) * c + ci;
  return pos;
}

export const identityPositions = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

export const samePositions = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.prototype.every.call(a, (x: number, i: number) => x === b[i]);

/** [C, H, W] of a rank-4 batch-1 NCHW shape, or a coded error naming the node. */
export function imageDims(n: Node, shape: number[] | undefined): [number, number, number] {
  if (!shape || shape.length !== 4 || shape[0] !== 1) throw new KilnError(cannotLower(n, `spatial ops lower on 2-D images [1, C, H, W], not [${shape ?? '?'}]`, { fix: 'feed a batch-1 image [1, C, H, W] (a 1-D signal as [1, C, 1, L])' }));
  return [shape[1], shape[2], shape[3]];
}

/**
 * The window of a Conv / MaxPool / AveragePool node on an input [1, C, H, W]. Attribute
 * combinations the hardware does not implement are refused with KLN2001 naming the node: ceil_mode
 * when it changes the output size of an average pool (a MaxPool's extra windows become end padding
 * with the smallest code; floor and ceil agree otherwise, then it is harmless).
 */
export function window2d(n: Node, [c, h, w]: [number, number, number], kernel: number[]): Window2d {
  if (kernel.length !== 2) throw new KilnError(cannotLower(n, `only 2-D windows lower, not a ${kernel.length}-D kernel`, { fix: 'use a 2-D kernel' }));
  const autoPad = attrString(n, 'auto_pad', 'NOTSET');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) throw new KilnError(cannotLower(n, `auto_pad ${autoPad}`, { fix: 'use auto_pad NOTSET, VALID, SAME_UPPER or SAME_LOWER' }));
  let win;
  try {
    win = windowOf(n, [h, w], kernel, false);
  } catch (e) {
    if (e instanceof KilnError) throw new KilnError(cannotLower(n, e.diagnostics[0].message, { fix: 'check kernel_shape, strides, pads and dilations against the input size' }));
    throw e;
  }
  let [oh, ow] = win.outSpatial;
  const padsEnd = [...win.padsEnd];
  if (n.op !== 'Conv' && attrInt(n, 'ceil_mode', 0) !== 0) {
    const ceil = windowOf(n, [h, w], kernel, true).outSpatial;
    if (ceil[0] !== oh || ceil[1] !== ow) {
      if (n.op !== 'MaxPool') throw new KilnError(cannotLower(n, `ceil_mode = 1 changes the output to ${ceil[0]}×${ceil[1]} (floor gives ${oh}×${ow}); the sliding window implements floor mode only`, { fix: 'use ceil_mode = 0, or pad the input so both modes agree' }));
      // Max pooling in ceil mode is floor mode over extra end padding: the extra windows start
      // inside the input (ONNX drops the others), and the pad code (the smallest) never wins a max.
      [0, 1].forEach((d) => {
        padsEnd[d] += Math.max(0, (ceil[d] - 1) * win.strides[d] + (kernel[d] - 1) * win.dilations[d] + 1 - ([h, w][d] + win.padsBegin[d] + win.padsEnd[d]));
      });
      [oh, ow] = ceil;
    }
  }
  return {
    ih: h, iw: w, channels: c,
    kh: kernel[0], kw: kernel[1],
    sh: win.strides[0], sw: win.strides[1],
    dh: win.dilations[0], dw: win.dilations[1],
    pads: [win.padsBegin[0], win.padsBegin[1], padsEnd[0], padsEnd[1]],
    oh, ow,
  };
}

/** Kernel shape of a pooling node (required attribute). */
export function poolKernel(n: Node): number[] {
  const k = attrInts(n, 'kernel_shape', []);
  if (k.length === 0) throw new KilnError(cannotLower(n, 'kernel_shape is missing', { fix: 'give kernel_shape' }));
  return k;
}

/** ONNX Pad on an NCHW image: [top, left, bottom, right] from its pads (only H and W may grow). */
export function padAmounts(n: Node, pads: number[], rank: number): [number, number, number, number] {
  if (rank !== 4 || pads.length !== 8) throw new KilnError(cannotLower(n, `Pad lowers on [1, C, H, W] images, not rank ${rank}`, { fix: 'pad a [1, C, H, W] image' }));
  if (pads.some((p) => p < 0)) throw new KilnError(cannotLower(n, 'negative pads (cropping)', { fix: 'crop with a Slice instead of negative pads' }));
  if (pads[0] || pads[1] || pads[4] || pads[5]) throw new KilnError(cannotLower(n, 'padding of the batch or channel axis', { fix: 'pad only the spatial axes H and W' }));
  return [pads[2], pads[3], pads[6], pads[7]];
}

export function refuse(message: string): never {
  throw new KilnError({ code: Code.CannotLower, message });
}
