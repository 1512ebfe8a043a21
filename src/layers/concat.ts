// Channel concatenation of two NHWC streams (ONNX Concat on the channel axis; FINN StreamingConcat):
// for each of `pixels` pixels, the aChannels channels of input 0, then the bChannels of input 1:
//   out[p·(ca+cb) + ch] = ch < ca ? a[p·ca + ch] : b[p·cb + ch − ca]
// Values pass unchanged; outType must hold both input types' values (codes are re-encoded in the RTL).
// `pe` channels per beat on all streams (dividing both channel counts): (ca+cb)/pe cycles per pixel.
import { bitWidth, qtypeName, range, sameQType } from '../ir/datatype.ts';
import { codeKind, defineLayer, dtype, int, mustDivide, registerStage } from './define.ts';
import { concatCost } from './cost/concat.ts';

export default defineLayer({
  kind: 'Concat',
  attrs: {
    pixels: int({ min: 1 }),
    aChannels: int({ min: 1 }),
    bChannels: int({ min: 1 }),
    pe: int({ min: 1, default: 1 }),
    aType: dtype(),
    bType: dtype(),
    outType: dtype(),
  },
  consts: () => ({}),
  check: (a) => {
    const [olo, ohi] = range(a.outType);
    for (const t of [a.aType, a.bType]) {
      const [lo, hi] = range(t);
      if (a.outType.kind === 'BIPOLAR' ? t.kind !== 'BIPOLAR' : lo < olo || hi > ohi) {
        return `outType must hold the ${qtypeName(t)} inputs, not ${qtypeName(a.outType)}`;
      }
    }
    return undefined;
  },
  checkFolding: (a) => mustDivide('pe', a.aChannels, a.pe) ?? mustDivide('pe', a.bChannels, a.pe),
  streams: (a) => ({
    in: [
      { qtype: a.aType, elems: a.pixels * a.aChannels, fold: a.pe },
      { qtype: a.bType, elems: a.pixels * a.bChannels, fold: a.pe },
    ],
    out: [{ qtype: a.outType, elems: a.pixels * (a.aChannels + a.bChannels), fold: a.pe }],
  }),
  execute: (a, [x, y]) => {
    const out: number[] = [];
    for (let p = 0; p < a.pixels; p++) {
      out.push(...x.slice(p * a.aChannels, (p + 1) * a.aChannels), ...y.slice(p * a.bChannels, (p + 1) * a.bChannels));
    }
    return [out];
  },
  cycles: (a) => (a.pixels * (a.aChannels + a.bChannels)) / a.pe,
  timing: (a, first, last) => [first + 1, last + 1 + a.bChannels / a.pe],
  schedule: (a, [x, y]) => {
    const cfa = a.aChannels / a.pe;
    const cfb = a.bChannels / a.pe;
    const merged: number[] = [];
    for (let p = 0; p < a.pixels; p++) merged.push(...x.slice(p * cfa, (p + 1) * cfa), ...y.slice(p * cfb, (p + 1) * cfb));
    return { out: [registerStage(merged)] };
  },
  buffering: {
    // Output pixel p = [a's channels, b's channels]: port 0 up to its pixel p, port 1 up to its pixel p − 1 until b's part starts.
    need: (a, port) => (e) => {
      const [ca, cb] = [a.aChannels, a.bChannels];
      const p = Math.floor(e / (ca + cb));
      const ch = e % (ca + cb);
      return port === 0 ? p * ca + Math.min(ch, ca - 1) : ch >= ca ? p * cb + ch - ca : p * cb - 1;
    },
    passesStalls: true,
  },
  cost: (_a, _consts, p) => concatCost(p),
  rtl: {
    module: 'concat',
    files: ['concat/concat.v'],
    params: (a) => ({
      CA: a.aChannels,
      CB: a.bChannels,
      PE: a.pe,
      WA: bitWidth(a.aType),
      A_KIND: codeKind(a.aType),
      A_PASS: sameQType(a.aType, a.outType) ? 1 : 0,
      WB: bitWidth(a.bType),
      B_KIND: codeKind(a.bType),
      B_PASS: sameQType(a.bType, a.outType) ? 1 : 0,
      OUT_W: bitWidth(a.outType),
    }),
  },
});
