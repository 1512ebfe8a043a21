// MVU cost (hw/mvu/mvu.v; packed / LUT lanes: hw/mvu/mvu_packed.v). What the RTL builds, and so the terms here:
//  - per PE a chain of SIMD lane terms summed in ACC_W bits (the "dot"), each lane one of: an XNOR bit
//    (bipolar × bipolar, a popcount), ±x or ±w (bipolar weight / input: an add/sub), +x / −x / 0
//    (ternary weight: a negation and a 3-way mux before the add), or a signed multiply in ACC_W bits
//    (a DSP48 / SB_MAC16 when the product is wide enough, else a LUT multiplier);
//  - per PE an ACC_W-bit accumulator (only when SF > 1: with one column fold the sum is the dot) and an
//    OUT_W-bit output register;
//  - the double-buffered input vector (LUTRAM, 2·2^⌈log2 SF⌉ words of SIMD·WI bits) and its read register;
//  - the weights: folded, a constant ROM of FOLDS words × PE·SIMD·WW bits with a registered read. Yosys
//    turns a small ROM into logic, one function per distinct bit column (identical columns share a LUT
//    and a flip-flop; a constant column or an address bit costs nothing), so the ROM terms count the
//    distinct columns of the actual weights (memory.ts romLogic);
//  - fully unrolled (FOLDS = 1): the weights are constants, so a lane is a constant-coefficient product:
//    zero weights vanish, ±1 is a wire or a subtraction; others go to a DSP when Yosys's mul2dsp takes
//    the trimmed constant (one per distinct (input, weight) pair: opt_merge shares them across rows),
//    else a shift-and-add with one adder per extra canonical-signed-digit (CSD) digit of |w|. The
//    adder chains then sum only the live terms.
// Every LUT / FF term is a feature with a fitted coefficient (cost/coefficients.json; docs/calibration.md);
// DSP48 / SB_MAC16 counts are exact ports of Yosys's mapping rules (cost/dsp.ts), not fitted.
import { bitWidth, type QType } from '../../ir/datatype.ts';
import { encode } from '../define.ts';
import { mvuMultipliers, type MvuShape } from '../common/mvu-weights.ts';
import { dspPacking, packedDsps } from '../common/dsp-packing.ts';
import { constantWidth, ice40Dsp, multiplierDsps, xc7Dsp, type DspShape } from './dsp.ts';
import { inBlockRam, inEbr, romLogic, type Memory } from './memory.ts';
import { log2, type CostTerms, type Params } from './terms.ts';

/** The MVU attributes its cost forms read (cost/mvu-sparse.ts too). */
export interface MvuAttrs extends MvuShape { vectors: number; inType: QType; weightType: QType; outType: QType }

/** Non-zero digits of n in canonical signed-digit form (the adders of a shift-and-add multiplier, plus one). */
export function csdDigits(n: number): number {
  let x = Math.abs(n);
  let digits = 0;
  while (x > 0) {
    if (x & 1) {
      digits++;
      x = (x & 3) === 3 ? x + 1 : x - 1;
    }
    x = Math.floor(x / 2);
  }
  return digits;
}

// Auto-folding prices many foldings of the same weights: remember each folding's ROM analysis.
const romCache = new WeakMap<readonly number[], Map<string, { lut: number; ff: number }>>();

function weightRomLogic(a: MvuAttrs, weights: readonly number[], folds: number, sf: number, ww: number): { lut: number; ff: number } {
  let byFold = romCache.get(weights);
  if (!byFold) romCache.set(weights, (byFold = new Map()));
  const key = `${a.rows}x${a.cols}:${a.pe}x${a.simd}:${ww}`;
  const hit = byFold.get(key);
  if (hit) return hit;
  const codes = Int32Array.from(weights, (w) => encode(a.weightType, w));
  // Word nf·SF + sf, lane (p, s) bit b: W[nf·PE + p][sf·SIMD + s] bit b (src/layers/mvu.ts's packing).
  const logic = romLogic(folds, a.pe * a.simd * ww, (word, col) => {
    const n = Math.floor(word / sf);
    const s = word % sf;
    const lane = Math.floor(col / ww);
    const pe = Math.floor(lane / a.simd);
    return codes[(n * a.pe + pe) * a.cols + s * a.simd + (lane % a.simd)] >> (col % ww);
  });
  byFold.set(key, logic);
  return logic;
}

export function mvuCost(a: MvuAttrs, consts: Record<string, number[]>, p: Params): CostTerms {
  const weights = consts.weights;
  const wi = bitWidth(a.inType);
  const ww = bitWidth(a.weightType);
  const sf = a.cols / a.simd;
  const nf = a.rows / a.pe;
  const folds = nf * sf;
  const lanes = a.pe * a.simd;
  const xnor = p.IN_KIND === 2 && p.W_KIND === 2;
  const ternary = !xnor && p.W_KIND === 3;
  const addSub = !xnor && !ternary && (p.W_KIND === 2 || p.IN_KIND === 2 || wi === 1 || ww === 1);
  const unrolled = folds === 1;
  // Multipliers (mvu.v's term: x_value(x) * w_value(w), unsigned ACC_W-bit operands and product), and
  // how Yosys maps each (dsp.ts). A signed operand is sign-extended to ACC_W bits, which Yosys cannot
  // trim in an unsigned product; an unsigned one is trimmed back to its code width. Fully unrolled,
  // the weight is a constant: Yosys trims its leading and trailing zero bits (the product loses as
  // many low bits), so ±1, 2^k and small negative powers of two become shifts / LUT logic.
  const hasMul = mvuMultipliers(a, weights) > 0;
  const aW = p.IN_KIND === 0 ? wi : p.ACC_W;
  // Packed lanes (common/dsp-packing.ts): one DSP48 per group of rows and SIMD lane on 7-series.
  const pack = p.PACK > 1 ? dspPacking({ ...a, sparse: 0 }, weights, p.ACC_W) : undefined;
  // mult "lut" (MUL_LUT): every multiply lane a shift-and-add of its WW partial products (mvu_packed.v lut_product).
  const lutLanes = p.MUL_LUT === 1 && hasMul;
  const mulDsps = (shape: DspShape): number => {
    if (!hasMul || lutLanes) return 0;
    if (pack) return packedDsps({ ...a, sparse: 0 }, pack, shape);
    if (!unrolled) {
      // wreduce keeps no more product bits than the operands give.
      const bW = p.W_KIND === 0 ? ww : p.ACC_W;
      return a.pe * a.simd * multiplierDsps(aW, bW, Math.min(p.ACC_W, aW + bW), true, shape);
    }
    // Products of one input element by the same constant are one cell after opt_merge, whatever the
    // row. mvu.v forms unrolled products signed at natural width: (WI+1) x (WW+1) bits, WI+WW+1 result
    // bits. What Yosys makes of one (checked against its `dump t:$mul` before mul2dsp):
    //  - the constant is trimmed to its signed width without trailing zeros (the product loses as
    //    many low bits: a shift of the trimmed product);
    //  - the input side {x[WI-1], x} of a signed code repeats its sign bit, which wreduce drops: WI bits;
    //    an unsigned code's {1'b0, x} stays WI + 1;
    //  - an unsigned code times a positive constant has both sign bits known zero: wreduce makes it an
    //    unsigned WI × |w| product of WI + |w| bits (which 7-series' signed-only DSP mapping widens
    //    again by a zero bit each, after its width checks).
    let n = 0;
    const seen = new Set<string>();
    weights.forEach((w, i) => {
      if (w === 0) return;
      const key = `${i % a.cols}:${w}`;
      if (seen.has(key)) return;
      seen.add(key);
      let tz = 0;
      while (((w >> tz) & 1) === 0) tz++;
      const odd = w >> tz;
      const unsignedMul = p.IN_KIND === 0 && odd > 0;
      const xW = unsignedMul || p.IN_KIND === 1 ? wi : wi + 1;
      // Signed width of the odd constant (a negative one needs the bits of |odd| − 1 and a sign).
      const bW = unsignedMul ? odd.toString(2).length : odd === -1 ? 1 : (odd > 0 ? odd : -odd - 1).toString(2).length + 1;
      n += multiplierDsps(xW, bW, Math.min(wi + ww + 1 - tz, xW + bW), unsignedMul, shape);
    });
    return n;
  };
  const dsp = mulDsps(xc7Dsp);
  const mac16 = mulDsps(ice40Dsp);
  // Fully unrolled, a weight that is not 0 / ±1 / 2^k is a constant multiplier (in LUTs: shift-and-add).
  const constMul = (w: number) => Math.abs(w) > 1 && !(w > 0 && (w & (w - 1)) === 0);
  const hasAcc = sf > 1;

  const lut: Record<string, number> = { control: log2(folds) + log2(sf) };
  const ff: Record<string, number> = { control: 2 * log2(folds) + 2 * log2(sf) + 6, outBits: a.pe * p.OUT_W };
  const memories: Memory[] = [];
  const ice40Lut: Record<string, number> = {};
  // Input double buffer: LUTRAM (exact, memory.ts), and with several column folds a read register.
  memories.push({ depth: 2 << log2(sf), width: a.simd * wi, writable: true, asyncRead: sf === 1 });
  if (sf > 1) ff.xRegBits = a.simd * wi;

  // The arithmetic's LUT features given how many multipliers the family's DSPs take (7-series DSP48
  // and iCE40 SB_MAC16 thresholds differ, so a product can be a DSP on one and LUTs on the other).
  const arithmetic = (dsps: number): Record<string, number> => {
    const f: Record<string, number> = {};
    const lutMul = hasMul && dsps === 0;
    if (lutLanes) {
      // Partial-product adds at the product's natural width; a constant weight (unrolled) keeps only
      // its code's one bits. Then the lane sums as without multipliers.
      const pw = wi + ww + 1;
      if (unrolled) {
        let ones = 0;
        for (const w of weights) ones += encode(a.weightType, w).toString(2).replace(/0/g, '').length;
        f.lutShiftAddBits = ones * pw;
        f.constAddBits = weights.filter((w) => w !== 0).length * p.ACC_W;
      } else {
        f.lutShiftAddBits = lanes * ww * pw;
        f.dotAddBits = lanes * p.ACC_W;
        if (hasAcc) f.accBits = a.pe * p.ACC_W;
      }
      return f;
    }
    if (unrolled) {
      // Constant weights: zero terms vanish; every other term is added into its row's ACC_W-bit
      // (sign-extended) adder chain (a −x term becomes a subtraction); a DSP's product may enter through
      // its post-adder; a LUT constant multiplier adds one ACC_W-bit adder per extra CSD digit.
      let live = 0;
      let csdAdders = 0;
      for (const w of weights) {
        if (w === 0) continue;
        live++;
        if (lutMul && constMul(w)) csdAdders += csdDigits(w) - 1;
      }
      if (xnor) f.xnorTerms = live;
      else {
        f.constAddBits = Math.max(0, live - dsps) * p.ACC_W;
        if (lutMul) f.constMulBits = csdAdders * p.ACC_W;
        // DSP products: the adds of the ones the post-adder cascade does not take (fitted share).
        if (dsps > 0) f.dspAddBits = dsps * p.ACC_W;
      }
      return f;
    }
    if (pack && dsps > 0) {
      // Packed (mvu_packed.v g_pack): per chunk of each group the packed adds (when the DSP cascade does not
      // take them) and the shared WB·x' fix; per row its chunk fields summed and its accumulator
      // (started at the row's correction, a per-row-fold constant read at nf).
      const chunks = Math.ceil(a.simd / pack.chunk);
      const groups = Math.ceil(a.pe / pack.lanes);
      f.packChunkBits = groups * chunks * (pack.chunk - 1) * pack.lanes * pack.offset;
      if (p.W_KIND !== 0) f.packFixBits = chunks * (pack.lanes - 1) * pack.offset;
      f.packFieldBits = a.pe * (chunks - 1) * (pack.offset + log2(chunks));
      f.packAccBits = a.pe * p.ACC_W;
      if (nf > 1) f.packCorrBits = a.pe * p.ACC_W * Math.ceil(nf / 64);
      return f;
    }
    // Each non-XNOR lane adds its term into the ACC_W-bit dot chain (unless a DSP cascade does).
    if (!xnor && dsps === 0) f.dotAddBits = lanes * p.ACC_W;
    if (xnor) f.xnorLanes = lanes;
    else if (ternary) f.ternaryTermBits = lanes * (wi + 1); // −x and the x / −x / 0 mux (sign bits shared)
    else if (addSub) f.addSubTermBits = lanes * ((p.W_KIND === 2 || ww === 1 ? wi : ww) + 1); // ±x or ±w
    else if (lutMul) f.lutMulBits = lanes * wi * ww; // partial products of a LUT multiplier
    else {
      f.dspLanes = dsps; // glue around the DSP cascade
      f.dspDotBits = a.pe * (a.simd - 1) * p.ACC_W; // dot-chain adds the DSP post-adders do not take
    }
    if (hasAcc) {
      if (dsps > 0) f.dspAccBits = a.pe * p.ACC_W;
      else f.accBits = a.pe * p.ACC_W;
    }
    return f;
  };
  Object.assign(lut, arithmetic(dsp));
  // iCE40 overrides: its own arithmetic (zeroing the 7-series keys it does not have).
  const ice40Arith = arithmetic(mac16);
  for (const k of Object.keys(lut)) if (k !== 'control' && k !== 'romColumns' && !(k in ice40Arith)) ice40Lut[k] = 0;
  Object.assign(ice40Lut, ice40Arith);

  if (!unrolled) {
    // The weight ROM: block RAM, or logic counted here from its distinct columns (romLogic).
    const rom: Memory = { depth: folds, width: lanes * ww, writable: false, logicInTerms: true };
    memories.push(rom);
    if (!inBlockRam(rom) || !inEbr(rom)) {
      const logic = weightRomLogic(a, weights, folds, sf, ww);
      lut.romColumns = inBlockRam(rom) ? 0 : logic.lut;
      ff.romRegBits = inBlockRam(rom) ? 0 : logic.ff;
      ice40Lut.romColumns = inEbr(rom) ? 0 : logic.lut;
    }
  }
  if (hasAcc) {
    if (pack) ff.accBits = a.pe * p.ACC_W;
    else if (dsp > 0) ff.dspAccBits = a.pe * p.ACC_W;
    else ff.accBits = a.pe * p.ACC_W;
  }
  return {
    lut,
    ice40Lut,
    ff,
    dsp,
    mac16,
    memories,
  };
}
