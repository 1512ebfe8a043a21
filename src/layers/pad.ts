// Padding (FINN FMPadding): an ih×iw×channels NHWC image (channels innermost, `pe` channels per beat)
// grows by `top`/`bottom` rows and `left`/`right` columns (asymmetric allowed) filled with `value`
// (0, or the zero point of an asymmetric activation type):
//   out[((y·ow + x)·channels + c] = in[((y − top)·iw + x − left)·channels + c] inside, value outside,
//   oh = top + ih + bottom, ow = left + iw + right.
// The RTL emits one beat per cycle and takes an input beat exactly when the position is inside, so
// steady state is oh·ow·channels/pe cycles per inference.
import { allows, bitWidth, qtypeName } from '../ir/datatype.ts';
import { defineLayer, dtype, encode, executeOf, gather, int, mustDivide, type Kernel } from './define.ts';
import { padCost } from './cost/pad.ts';

/** The padded image as a gather: the input pixel's channels inside, `value` in the border. */
function padKernel(a: { ih: number; iw: number; channels: number; top: number; bottom: number; left: number; right: number; value: number }): Kernel {
  const oh = a.top + a.ih + a.bottom;
  const ow = a.left + a.iw + a.right;
  const index = new Int32Array(oh * ow * a.channels);
  let i = 0;
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      const iy = oy - a.top;
      const ix = ox - a.left;
      const inside = iy >= 0 && iy < a.ih && ix >= 0 && ix < a.iw;
      for (let c = 0; c < a.channels; c++) index[i++] = inside ? (iy * a.iw + ix) * a.channels + c : -1;
    }
  }
  return gather(index, a.value);
}

export default defineLayer({
  kind: 'Pad',
  attrs: {
    ih: int({ min: 1 }),
    iw: int({ min: 1 }),
    channels: int({ min: 1 }),
    top: int({ min: 0, default: 0 }),
    bottom: int({ min: 0, default: 0 }),
    left: int({ min: 0, default: 0 }),
    right: int({ min: 0, default: 0 }),
    value: int({ default: 0 }),
    pe: int({ min: 1, default: 1 }),
    qtype: dtype(),
  },
  consts: () => ({}),
  check: (a) => (allows(a.qtype, a.value) ? undefined : `value must be a ${qtypeName(a.qtype)} value, not ${a.value}`),
  checkFolding: (a) => mustDivide('pe', a.channels, a.pe),
  streams: (a) => ({
    in: [{ qtype: a.qtype, elems: a.ih * a.iw * a.channels, fold: a.pe }],
    out: [{ qtype: a.qtype, elems: (a.top + a.ih + a.bottom) * (a.left + a.iw + a.right) * a.channels, fold: a.pe }],
  }),
  execute: executeOf(padKernel),
  kernel: padKernel,
  cycles: (a) => ((a.top + a.ih + a.bottom) * (a.left + a.iw + a.right) * a.channels) / a.pe,
  // One register stage. `first` is when this layer takes input beat 0; the `lead` padding beats before
  // it leave one per cycle just before, the `trail` ones just after the last input beat.
  timing: (a, first, last) => {
    const cf = a.channels / a.pe;
    const ow = a.left + a.iw + a.right;
    const lead = (a.top * ow + a.left) * cf;
    const trail = (a.bottom * ow + a.right) * cf;
    // Output-bound when padding dominates: the padding beats do not wait, all leave one per cycle.
    const outBeats = (a.top + a.ih + a.bottom) * ow * cf;
    return [first + 1 - lead, Math.max(last + 1 + trail, first + outBeats)];
  },
  // Padding beats leave one per cycle from the first cycle on (they wait for nothing); an interior
  // beat leaves the cycle after it arrives, at most one beat per cycle.
  schedule: (a, [arrivals]) => {
    const cf = a.channels / a.pe;
    const ow = a.left + a.iw + a.right;
    const out: number[] = [];
    let prev = 0;
    let next = 0; // next input beat
    let firstTaken: number | undefined;
    for (let oy = 0; oy < a.top + a.ih + a.bottom; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        const interior = oy >= a.top && oy < a.top + a.ih && ox >= a.left && ox < a.left + a.iw;
        for (let f = 0; f < cf; f++) {
          prev = interior ? Math.max(arrivals[next++] + 1, prev + 1) : prev + 1;
          if (interior && firstTaken === undefined) firstTaken = prev - 1;
          out.push(prev);
        }
      }
    }
    return { out: [out], firstTaken };
  },
  buffering: {
    // A padding element needs the last interior element before it (or nothing: −1).
    need: (a) => {
      const ow = a.left + a.iw + a.right;
      const t = new Int32Array((a.top + a.ih + a.bottom) * ow * a.channels);
      let max = -1;
      for (let e = 0; e < t.length; e++) {
        const px = Math.floor(e / a.channels);
        const y = Math.floor(px / ow) - a.top;
        const x = (px % ow) - a.left;
        if (y >= 0 && y < a.ih && x >= 0 && x < a.iw) max = Math.max(max, (y * a.iw + x) * a.channels + (e % a.channels));
        t[e] = max;
      }
      return t;
    },
  },
  cost: (_a, _consts, p) => padCost(p),
  rtl: {
    module: 'pad',
    files: ['common/out_reg.v', 'pad/pad.v'],
    params: (a) => ({
      IH: a.ih,
      IW: a.iw,
      C: a.channels,
      PE: a.pe,
      TOP: a.top,
      BOTTOM: a.bottom,
      LEFT: a.left,
      RIGHT: a.right,
      EW: bitWidth(a.qtype),
      PAD_CODE: encode(a.qtype, a.value),
    }),
  },
});
