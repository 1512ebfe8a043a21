// Not a layer kind: DSP packing of a folded MVU's multiply lanes (hw/mvu/mvu_packed.v, PACK > 1), read by
// the layer (its RTL parameters, ../mvu.ts) and its cost form (../cost/mvu.ts).
//
// PE rows share each input element, so `lanes` rows' weights go into one DSP48 multiplier's A port
// at `offset`-bit spacing and the input into B (FINN's 4sx4u and Xilinx's INT8 / INT4 packings).
// Every lane field then holds a lane product minus `lo` (a bias makes it non-negative, so fields
// never borrow from each other), and `chunk` products are summed packed while the guard bits hold.
import { bitWidth, range, type QType } from '../../ir/datatype.ts';
import { codeKind } from '../define.ts';
import { multiplierDsps, xc7Dsp, type DspShape } from '../cost/dsp.ts';
import type { MvuShape } from './mvu-weights.ts';

/** DSP48E1 operand and product widths (signed): A 25, B 18, P 48 bits. */
const A_BITS = 25;
const B_BITS = 18;
const P_BITS = 48;
/** Most lanes one multiplier takes (two ≤ 8-bit or four ≤ 4-bit products in practice). */
const MAX_LANES = 4;

export interface DspPacking {
  /** Rows per multiplier. */
  lanes: number;
  /** Bits between lane fields (of A and of the product). */
  offset: number;
  /** Products (consecutive SIMD lanes) summed packed before unpacking. */
  chunk: number;
  /** The least lane product w·x' (x' = x − 2^(WI−1) for unsigned inputs). */
  lo: number;
  /** The greatest lane product. */
  hi: number;
}

export interface PackableMvu extends MvuShape { inType: QType; weightType: QType; sparse: number }

/** Whether a lane is a multiply (not XNOR / add-sub / mux): integer codes of two bits or more on both sides. */
export function multiplyLanes(a: { inType: QType; weightType: QType }): boolean {
  const mul = (t: QType) => t.kind === 'INT' && t.bits >= 2;
  return mul(a.inType) && mul(a.weightType);
}

/** Signed width of a weight code (an unsigned one needs a zero sign bit). */
const signedWeightBits = (t: QType) => bitWidth(t) + (codeKind(t) === 0 ? 1 : 0);

/** Signed A-port width of a group of `n` lanes. */
export const packedAWidth = (p: DspPacking, weightType: QType, n: number) => (n - 1) * p.offset + signedWeightBits(weightType);

/**
 * DSP48s of the unpacked lanes (mvu.v's term: an ACC_W-bit unsigned product of x_value and w_value,
 * which Yosys trims back to an unsigned code's width but not a sign-extended one's).
 */
export function unpackedDsps(a: PackableMvu, accW: number): number {
  const aW = codeKind(a.inType) === 0 ? bitWidth(a.inType) : accW;
  const bW = codeKind(a.weightType) === 0 ? bitWidth(a.weightType) : accW;
  return a.pe * a.simd * multiplierDsps(aW, bW, Math.min(accW, aW + bW), true, xc7Dsp);
}

/**
 * The packing of a folded dense MVU's multiply lanes: the fewest multipliers for its PE rows (and,
 * at that count, the fewest lanes each, leaving the most guard bits), or undefined when no two lanes
 * fit one DSP48, when packing would not save DSPs (lanes too narrow to be DSPs at all), or when the
 * unit is fully unrolled, sparse, or not multiplying. accW: the unit's accumulator width (ACC_W).
 */
export function dspPacking(a: PackableMvu, weights: readonly number[], accW: number): DspPacking | undefined {
  if ((a.rows / a.pe) * (a.cols / a.simd) === 1 || a.sparse === 1 || !multiplyLanes(a)) return undefined;
  const wi = bitWidth(a.inType);
  if (wi > B_BITS) return undefined;
  // x' range: a signed code as is, an unsigned one recentred around zero.
  const [xlo, xhi] = codeKind(a.inType) === 1 ? range(a.inType) : [-(2 ** (wi - 1)), 2 ** (wi - 1) - 1];
  let wlo = 0;
  let whi = 0;
  for (const w of weights) {
    if (w < wlo) wlo = w;
    if (w > whi) whi = w;
  }
  const corners = [wlo * xlo, wlo * xhi, whi * xlo, whi * xhi];
  const lo = Math.min(...corners);
  const hi = Math.max(...corners);
  const need = Math.max(1, (hi - lo).toString(2).length); // bits of one biased product
  const ws = signedWeightBits(a.weightType);
  const fits = (k: number, off: number) => (k - 1) * off + ws <= A_BITS && k * off <= P_BITS;
  let best: DspPacking | undefined;
  for (let k = 2; k <= Math.min(MAX_LANES, a.pe); k++) {
    if (!fits(k, need)) break;
    if (best && Math.ceil(a.pe / k) >= Math.ceil(a.pe / best.lanes)) continue;
    const offset = Math.min(Math.floor((A_BITS - ws) / (k - 1)), Math.floor(P_BITS / k));
    const chunk = Math.max(1, Math.min(a.simd, Math.floor((2 ** offset - 1) / Math.max(1, hi - lo))));
    best = { lanes: k, offset, chunk, lo, hi };
  }
  return best && packedDsps(a, best) < unpackedDsps(a, accW) ? best : undefined;
}

/**
 * DSP blocks of a packed unit as Yosys's mul2dsp maps each group's A × B (7-series: one DSP48 per
 * group of lanes and SIMD lane; iCE40's 16 × 16 SB_MAC16 takes a wide A in slices).
 */
export function packedDsps(a: PackableMvu, p: DspPacking, shape: DspShape = xc7Dsp): number {
  let n = 0;
  for (let g = 0; g * p.lanes < a.pe; g++) {
    const lanes = Math.min(p.lanes, a.pe - g * p.lanes);
    const aw = packedAWidth(p, a.weightType, lanes);
    n += a.simd * multiplierDsps(aw, bitWidth(a.inType), aw + bitWidth(a.inType), false, shape);
  }
  return n;
}
