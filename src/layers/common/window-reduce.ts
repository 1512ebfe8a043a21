// Not a layer kind (so not directly in src/layers/, where every file is one): helpers.
// What MaxPool, AvgPool and VectorVector share: all three reduce the window stream of a SlidingWindow
// (for each pixel, for each of `window` taps, `channels` channels) per channel, on the one RTL module
// hw/window_reduce (MODE 0 max, 1 sum, 2 weighted sum), which takes one beat per cycle:
// pixels·window·channels/pe cycles per inference.
import { bitWidth, type QType } from '../../ir/datatype.ts';
import { codeKind, int, mustDivide, registerStage, signedBits, type ParamValue, type Port } from '../define.ts';

export interface WindowReduceShape { pixels: number; window: number; channels: number; pe: number }

export const windowReduceAttrs = {
  pixels: int({ min: 1 }),
  window: int({ min: 1 }),
  channels: int({ min: 1 }),
  pe: int({ min: 1, default: 1 }),
};

/**
 * y[p·channels + c] = the fold of `step` over taps k = 0 … window − 1 of x[(p·window + k)·channels + c],
 * starting from `init`.
 */
export function reduceWindows(a: WindowReduceShape, x: readonly number[], init: number, step: (acc: number, value: number, c: number, k: number) => number): number[] {
  const y: number[] = [];
  for (let p = 0; p < a.pixels; p++) {
    for (let c = 0; c < a.channels; c++) {
      let acc = init;
      for (let k = 0; k < a.window; k++) acc = step(acc, x[(p * a.window + k) * a.channels + c], c, k);
      y.push(acc);
    }
  }
  return y;
}

/** The window stream in, one value per pixel and channel out, `pe` channels a beat. */
export const windowReduceStreams = (a: WindowReduceShape, inType: QType, outType: QType): { in: Port[]; out: Port[] } => ({
  in: [{ qtype: inType, elems: a.pixels * a.window * a.channels, fold: a.pe }],
  out: [{ qtype: outType, elems: a.pixels * a.channels, fold: a.pe }],
});

export const windowReduceCheckFolding = (a: WindowReduceShape): string | undefined => mustDivide('pe', a.channels, a.pe);

/** Cycles per inference of hw/window_reduce: one input beat per cycle. */
export const windowReduceCycles = (a: WindowReduceShape): number => (a.pixels * a.window * a.channels) / a.pe;

/** The first output beat leaves the cycle after the first pixel's last tap starts arriving (inputs evenly spaced). */
export function windowReduceTiming(a: WindowReduceShape, first: number, last: number): [number, number] {
  const cf = a.channels / a.pe;
  const inBeats = windowReduceCycles(a);
  const at = (a.window - 1) * cf;
  return [(inBeats > 1 ? first + Math.round((at * (last - first)) / (inBeats - 1)) : first) + 1, last + 1];
}

/** Beat schedule of hw/window_reduce: a pixel's beat cf leaves the cycle after its last tap's beat cf arrives. */
export function windowReduceSchedule(a: WindowReduceShape, [arrivals]: number[][]): { out: number[][] } {
  const cf = a.channels / a.pe;
  const last: number[] = [];
  for (let p = 0; p < a.pixels; p++) for (let f = 0; f < cf; f++) last.push(arrivals[(p * a.window + a.window - 1) * cf + f]);
  return { out: [registerStage(last)] };
}

/** Folding check and cycle model of hw/window_reduce, the same for every layer on it. */
export const windowReduceModel = {
  checkFolding: windowReduceCheckFolding,
  cycles: windowReduceCycles,
  timing: windowReduceTiming,
  schedule: windowReduceSchedule,
  buffering: {
    // Output (pixel p, channel c) needs the last tap of p's window in channel c; it takes one pixel's window ahead.
    need: (a: WindowReduceShape) => (e: number) => (Math.floor(e / a.channels) * a.window + a.window - 1) * a.channels + (e % a.channels),
    ahead: (a: WindowReduceShape) => a.window * a.channels,
    // A pixel's channels leave back to back with its last tap.
    burst: (a: WindowReduceShape) => a.channels / a.pe,
  },
};

/** The RTL module and its files. */
export const windowReduceRtl = { module: 'window_reduce', files: ['common/out_reg.v', 'window_reduce/window_reduce.v'] };

/** hw/window_reduce parameters without weights (MODE 0 max, 1 sum, 2 weighted sum). */
export function windowReduceParams(a: WindowReduceShape, mode: number, inType: QType, outType: QType, accRange: [number, number]): Record<string, ParamValue> {
  const outW = bitWidth(outType);
  return {
    K: a.window,
    C: a.channels,
    PE: a.pe,
    WI: bitWidth(inType),
    IN_KIND: codeKind(inType),
    MODE: mode,
    ACC_W: Math.max(signedBits(Math.min(accRange[0], -1), Math.max(accRange[1], 1)), outW) + 1,
    OUT_W: outW,
  };
}
