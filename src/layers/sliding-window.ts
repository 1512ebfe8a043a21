// Sliding-window generator (FINN ConvolutionInputGenerator): turns an image stream into the stream of
// convolution windows a matrix-vector unit consumes, so Conv = SlidingWindow → MVU.
//
// Input: an ih×iw×channels image in NHWC order (channels innermost), `pe` channels per beat.
// Output, for each output pixel (oy, ox) in row-major order, for each kernel tap (ky, kx) in
// row-major order, the `channels` channels of input pixel (oy·sh + ky·dh, ox·sw + kx·dw):
//   out[((oy·ow + ox)·kh·kw + ky·kw + kx)·channels + c] = in[((oy·sh + ky·dh)·iw + ox·sw + kx·dw)·channels + c]
// So one window is a vector of kh·kw·channels elements in (ky, kx, c) order: the MVU after it has
// cols = kh·kw·channels with column (ky·kw + kx)·channels + c (ONNX weight [m][c][ky][kx] reordered).
// Padding is a separate Pad layer in front; oh = floor((ih − dh·(kh−1) − 1)/sh) + 1 (no ceil mode).
//
// Folding: `pe` channels of one tap per beat, or with taps = kh·kw (parallel window, pe = channels)
// a whole window per beat, so a fully parallel MVU (simd = cols) takes one window per cycle.
// The RTL keeps a circular buffer of DEPTH beats (a few image lines, or the whole image when that is
// smaller) written at one beat per cycle and read at one beat per cycle, so steady state is exactly
// max(input beats, output beats) cycles per inference (see hw/sliding_window/sliding_window.v).
import { bitWidth } from '../ir/datatype.ts';
import { defineLayer, dtype, executeOf, gather, int, mustDivide, type Kernel } from './define.ts';
import { slidingWindowCost } from './cost/sliding-window.ts';

export interface WindowGeometry { ih: number; iw: number; kh: number; kw: number; sh: number; sw: number; dh: number; dw: number }

/** Output rows and columns of a window scan (no padding, floor mode). */
export function windowOutput(g: WindowGeometry): [number, number] {
  return [Math.floor((g.ih - g.dh * (g.kh - 1) - 1) / g.sh) + 1, Math.floor((g.iw - g.dw * (g.kw - 1) - 1) / g.sw) + 1];
}

/** The window stream as a gather: for each output pixel and tap, the input pixel's channels. */
function windowKernel(a: WindowGeometry & { channels: number }): Kernel {
  const [oh, ow] = windowOutput(a);
  const index = new Int32Array(oh * ow * a.kh * a.kw * a.channels);
  let i = 0;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      for (let ky = 0; ky < a.kh; ky++) {
        for (let kx = 0; kx < a.kw; kx++) {
          const base = ((oy * a.sh + ky * a.dh) * a.iw + ox * a.sw + kx * a.dw) * a.channels;
          for (let c = 0; c < a.channels; c++) index[i++] = base + c;
        }
      }
    }
  }
  return gather(index);
}

/** Buffer depth in beats: enough lines that neither side ever waits on the other (a power of two). */
export function windowBufferDepth(g: WindowGeometry, cf: number): number {
  const image = g.ih * g.iw * cf;
  const lines = ((2 * (g.kh - 1) * g.dh + g.sh) * g.iw + (g.kw - 1) * g.dw + 2) * cf;
  const need = Math.min(lines, 2 * image);
  let depth = 2;
  while (depth < need) depth *= 2;
  return depth;
}

/** Departure cycle of every output beat given every input beat's arrival (first inference, no back-pressure). */
function windowSchedule(a: WindowGeometry & { channels: number; pe: number; taps: number }, arrivals: readonly number[]): number[] {
  const [oh, ow] = windowOutput(a);
  const cf = a.channels / a.pe;
  const out: number[] = [];
  let prev = -Infinity;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let ready = -Infinity; // a beat of `taps` taps leaves once its last-needed input beat is in
      for (let ky = 0; ky < a.kh; ky++) {
        for (let kx = 0; kx < a.kw; kx++) {
          const base = ((oy * a.sh + ky * a.dh) * a.iw + ox * a.sw + kx * a.dw) * cf;
          for (let f = 0; f < cf; f++) {
            ready = Math.max(ready, arrivals[base + f] + 2);
            if ((ky * a.kw + kx + 1) % a.taps === 0) {
              out.push((prev = Math.max(ready, prev + 1)));
              ready = -Infinity;
            }
          }
        }
      }
    }
  }
  // The image's last beat also waits for the image's last input beat (the writer finishes first).
  out[out.length - 1] = Math.max(out[out.length - 1], arrivals[arrivals.length - 1] + 2);
  return out;
}

export default defineLayer({
  kind: 'SlidingWindow',
  attrs: {
    ih: int({ min: 1 }),
    iw: int({ min: 1 }),
    channels: int({ min: 1 }),
    kh: int({ min: 1 }),
    kw: int({ min: 1 }),
    sh: int({ min: 1, default: 1 }),
    sw: int({ min: 1, default: 1 }),
    dh: int({ min: 1, default: 1 }),
    dw: int({ min: 1, default: 1 }),
    /** Channels per beat (FINN calls it SIMD here; `pe` like every other non-MVU layer of kiln). */
    pe: int({ min: 1, default: 1 }),
    /** Taps per beat: 1, or kh·kw for a whole window per beat (then pe must be channels). */
    taps: int({ min: 1, default: 1 }),
    qtype: dtype(),
  },
  consts: () => ({}),
  check: (a) => {
    if (a.dh * (a.kh - 1) + 1 > a.ih) return `the dilated kernel height ${a.dh * (a.kh - 1) + 1} must fit in the image height ${a.ih}`;
    if (a.dw * (a.kw - 1) + 1 > a.iw) return `the dilated kernel width ${a.dw * (a.kw - 1) + 1} must fit in the image width ${a.iw}`;
    return undefined;
  },
  checkFolding: (a) => {
    if (a.taps !== 1 && a.taps !== a.kh * a.kw) return `taps must be 1 or kh·kw = ${a.kh * a.kw}, not ${a.taps}`;
    if (a.taps > 1 && a.pe !== a.channels) return `pe must be channels (${a.channels}) with taps > 1, not ${a.pe}`;
    return mustDivide('pe', a.channels, a.pe);
  },
  streams: (a) => {
    const [oh, ow] = windowOutput(a);
    return {
      in: [{ qtype: a.qtype, elems: a.ih * a.iw * a.channels, fold: a.pe }],
      out: [{ qtype: a.qtype, elems: oh * ow * a.kh * a.kw * a.channels, fold: a.taps * a.pe }],
    };
  },
  execute: executeOf(windowKernel),
  kernel: windowKernel,
  cycles: (a) => {
    const [oh, ow] = windowOutput(a);
    return Math.max(a.ih * a.iw, (oh * ow * a.kh * a.kw) / a.taps) * (a.channels / a.pe);
  },
  // Input beat 0 is written, read the next cycle into the output register, and leaves the cycle after;
  // later windows wait for the rows they need: the schedule below with evenly spaced input beats.
  timing: (a, first, last) => {
    const n = (a.ih * a.iw * a.channels) / a.pe;
    const arrivals = Array.from({ length: n }, (_, j) => (n > 1 ? first + Math.round((j * (last - first)) / (n - 1)) : first));
    const out = windowSchedule(a, arrivals);
    return [out[0], out[out.length - 1]];
  },
  // Beat j leaves 2 cycles after the input beat it needs arrives (at most one per cycle); the image's
  // last beat also waits for the image's last input beat.
  schedule: (a, [arrivals]) => ({ out: [windowSchedule(a, arrivals)] }),
  buffering: {
    // Window element e needs its tap's input element (running maximum: the stream is in order).
    need: (a) => {
      const [oh, ow] = windowOutput(a);
      const K = a.kh * a.kw;
      const t = new Int32Array(oh * ow * K * a.channels);
      let max = -1;
      for (let e = 0; e < t.length; e++) {
        const p = Math.floor(e / (K * a.channels));
        const k = Math.floor(e / a.channels) % K;
        const oy = Math.floor(p / ow);
        const ox = p % ow;
        const i = ((oy * a.sh + Math.floor(k / a.kw) * a.dh) * a.iw + ox * a.sw + (k % a.kw) * a.dw) * a.channels + (e % a.channels);
        max = Math.max(max, i);
        t[e] = max;
      }
      return t;
    },
    // Its circular buffer.
    ahead: (a) => windowBufferDepth(a, a.channels / a.pe) * a.pe,
  },
  cost: (a, _consts, p) => slidingWindowCost(a, p),
  rtl: {
    module: 'sliding_window',
    files: ['common/out_reg.v', 'sliding_window/sliding_window.v'],
    params: (a) => {
      const [oh, ow] = windowOutput(a);
      return {
        IH: a.ih,
        IW: a.iw,
        C: a.channels,
        PE: a.pe,
        KH: a.kh,
        KW: a.kw,
        SH: a.sh,
        SW: a.sw,
        DH: a.dh,
        DW: a.dw,
        OH: oh,
        OW: ow,
        EW: bitWidth(a.qtype),
        DEPTH: windowBufferDepth(a, a.channels / a.pe),
        TAPS: a.taps,
      };
    },
  },
});
