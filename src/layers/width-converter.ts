// Stream width converter: regroups a stream of elements from inFold to outFold elements per beat.
// Codegen inserts one wherever a producer's beat differs from its consumer's. Values pass unchanged.
import { bitWidth } from '../ir/datatype.ts';
import { defineLayer, dtype, executeOf, int, mustDivide, passThrough, registerStage, sameElement } from './define.ts';
import { widthConverterCost } from './cost/width-converter.ts';

export default defineLayer({
  kind: 'WidthConverter',
  attrs: {
    elems: int({ min: 1 }),
    inFold: int({ min: 1 }),
    outFold: int({ min: 1 }),
    qtype: dtype(),
  },
  consts: () => ({}),
  checkFolding: (a) => mustDivide('inFold', a.elems, a.inFold) ?? mustDivide('outFold', a.elems, a.outFold),
  streams: (a) => ({
    in: [{ qtype: a.qtype, elems: a.elems, fold: a.inFold }],
    out: [{ qtype: a.qtype, elems: a.elems, fold: a.outFold }],
  }),
  execute: executeOf(passThrough),
  kernel: passThrough,
  cycles: (a) => Math.max(a.elems / a.inFold, a.elems / a.outFold),
  // The first output beat leaves the cycle after the input beat completing it arrives; input beats are
  // taken as evenly spaced between the first and the last (as an MVU emits them).
  timing: (a, first, last) => {
    const inBeats = a.elems / a.inFold;
    const needed = Math.ceil(a.outFold / a.inFold) - 1; // index of the input beat completing output beat 0
    const firstOut = (inBeats > 1 ? first + Math.round((needed * (last - first)) / (inBeats - 1)) : first) + 1;
    // The last input beat yields up to ceil(inFold / outFold) output beats, one per cycle.
    return [firstOut, Math.max(last + Math.ceil(a.inFold / a.outFold), firstOut + a.elems / a.outFold - 1)];
  },
  // Output beat j leaves the cycle after the input beat holding its last element arrives (one per cycle).
  schedule: (a, [arrivals]) => {
    const completing = Array.from({ length: a.elems / a.outFold }, (_, j) => arrivals[Math.floor(((j + 1) * a.outFold - 1) / a.inFold)]);
    return { out: [registerStage(completing)] };
  },
  buffering: { need: sameElement, passesStalls: true, inOrder: true },
  cost: (_a, _consts, p) => widthConverterCost(p),
  rtl: {
    module: 'dwc',
    files: ['common/dwc.v'],
    params: (a) => ({ IN_FOLD: a.inFold, OUT_FOLD: a.outFold, EW: bitWidth(a.qtype) }),
  },
});
