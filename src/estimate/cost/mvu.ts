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
  // Yosys (mul2dsp, xilinx: DSP_A/B_MINWIDTH 2, DSP_Y_MINWIDTH 9; ice40: Y ≥ 11) maps a multiplier to a
  // DSP when its product is wide enough. The RTL multiplies ACC_W-wide operands; wreduce shrinks an
  // unsigned×unsigned product to WI+WW bits but keeps a signed one ACC_W wide (calibration: every
  // UINT×UINT ≤ 4-bit lane stayed in LUTs, every signed lane with ACC_W ≥ 9 took one DSP48).
  const signed = p.IN_KIND !== 0 || p.W_KIND !== 0;
  const productW = signed ? p.ACC_W : Math.min(p.ACC_W, wi + ww);
  const inDsp = (minY: number) => muls > 0 && Math.min(wi, ww) >= 2 && productW >= minY;
  // A signed product keeps ACC_W-bit operands, so past 18 bits (the DSP48E1 B port) it takes a DSP per 18 bits.
  const dsp = inDsp(9) ? muls * (signed ? Math.ceil(p.ACC_W / 18) : 1) : 0;
  const lutMul = muls > 0 && dsp === 0;
  return {
    lut: {
      xnorLanes: xnor ? lanes * live : 0, // XNOR + popcount adder tree
      addSubBits: addSub ? lanes * live * p.ACC_W : 0, // ±x / 0 mux and the ACC_W-wide adder tree
      lutMulBits: lutMul ? muls * wi * ww : 0, // partial products of a LUT multiplier
      lutMulTreeBits: lutMul ? muls * productW : 0, // its adder tree
      dspLanes: dsp, // glue around DSP cascades
      dspTreeBits: dsp > 0 ? a.pe * (a.simd - 1) * p.ACC_W : 0, // adder tree after the DSP products
      accBits: a.pe * p.ACC_W, // accumulate/clear mux + adder
      romBits: folds > 1 && !(folds > 64 && folds * lanes * ww >= 4096) ? lanes * ww * Math.ceil(folds / 64) : 0, // LUT ROM
      bufBits: a.simd * wi * Math.ceil((2 << log2(sf)) / 64), // LUTRAM input buffer
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
    mac16: inDsp(11) ? muls : 0,
    memories: folds > 1 ? [{ depth: folds, width: lanes * ww, writable: false }] : [],
  };
}
