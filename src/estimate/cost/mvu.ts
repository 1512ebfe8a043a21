// MVU cost (hw/mvu/mvu.v): PE×SIMD lanes, each an XNOR / add-sub / multiplier, an adder tree per PE,
// PE accumulators and output registers, a double-buffered input vector (LUTRAM) and the weight ROM
// (FOLDS words × PE·SIMD·WW bits; a constant when fully unrolled).
import { bitWidth, type QType } from '../../ir/datatype.ts';
import { mvuMultipliers } from '../../layers/mvu.ts';
import { log2, type CostTerms, type Params } from './terms.ts';

interface MvuAttrs { rows: number; cols: number; pe: number; simd: number; vectors: number; inType: QType; weightType: QType; outType: QType }

export function mvuCost(a: MvuAttrs, consts: Record<string, number[]>, p: Params): CostTerms {
  const weights = consts.weights;
  const wi = bitWidth(a.inType);
  const ww = bitWidth(a.weightType);
  const sf = a.cols / a.simd;
  const folds = (a.rows / a.pe) * sf;
  const lanes = a.pe * a.simd;
  const xnor = p.IN_KIND === 2 && p.W_KIND === 2;
  const addSub = !xnor && (p.W_KIND === 2 || p.W_KIND === 3 || p.IN_KIND === 2 || wi === 1 || ww === 1);
  const muls = mvuMultipliers(a, weights);
  // Fully unrolled: zero weights vanish, so the adder tree only has the nonzero terms.
  const live = folds === 1 ? weights.filter((w) => w !== 0).length / weights.length : 1;
  // Product width of one lane: 1 (XNOR), the non-trivial operand + sign (add/sub), WI+WW (multiply).
  const pw = xnor ? 1 : addSub ? Math.max(wi, ww) + 1 : wi + ww;
  // Yosys maps every multiplier whose operands are ≥ 2 bits to one DSP48E1 (calibration: INT2..INT8 all
  // take exactly one); wider than 25×18 would need more, which kiln's ≤ 16-bit types never reach.
  const dsp = muls;
  return {
    lut: {
      xnorLanes: xnor ? lanes * live : 0, // XNOR + popcount: ~1 LUT per lane
      addSubBits: addSub ? lanes * live * pw : 0, // add/sub mux per bit, then adder tree bits
      mulTreeBits: !xnor && !addSub ? lanes * live * Math.min(p.ACC_W, pw + log2(a.simd)) : 0, // adder tree after DSP products
      accBits: a.pe * p.ACC_W, // accumulate/clear mux + adder
      romBits: folds > 1 && !(folds > 64 && folds * lanes * ww >= 4096) ? lanes * ww * Math.ceil(folds / 64) : 0, // LUT ROM
      bufBits: a.simd * wi * Math.ceil((2 << log2(sf)) / 64), // LUTRAM input buffer (RAM64M: 3 bits per 4 LUTs → fitted)
      control: log2(folds) + log2(sf),
    },
    ff: {
      accBits: a.pe * p.ACC_W,
      outBits: a.pe * p.OUT_W,
      xRegBits: sf > 1 ? a.simd * wi : 0,
      wRegBits: folds > 1 ? lanes * ww : 0,
      control: 2 * log2(folds) + 2 * log2(sf) + 6,
    },
    dsp,
    mac16: dsp,
    memories: folds > 1 ? [{ depth: folds, width: lanes * ww, writable: false }] : [],
  };
}
