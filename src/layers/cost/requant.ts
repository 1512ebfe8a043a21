import { constantWidth, ice40Dsp, multiplierDsps, xc7Dsp, type DspShape } from './dsp.ts';
import { romLogic } from './memory.ts';
import { log2, type CostTerms, type Params } from './terms.ts';

/**
 * Requant (hw/requant/requant.v), per lane: x·m as a signed XW × MW multiply at its natural width
 * (XW: WI signed, WI + 1 unsigned, 2 bipolar), taken to PW bits, + b, an arithmetic shift, a clamp (two
 * PW-bit compares) and an OUT_W-bit output register. With several channel groups, lane p's m and b are
 * constant columns read at the group counter (logic per distinct bit column, memory.ts romLogic).
 * Round half to even (ROUND = 1) adds one PW-bit increment (+ 2^(SHIFT−1) − 1 + a carry-in) per lane.
 */
export function requantCost(a: { elems: number; channels: number; pe: number }, consts: Record<string, number[]>, p: Params): CostTerms {
  const tables = a.channels > 1;
  const groups = tables ? a.channels / a.pe : 1;
  const xW = p.IN_KIND === 2 ? 2 : p.IN_KIND === 1 ? p.WI : p.WI + 1;
  // One channel: m is a constant (trimmed; its trailing zeros leave the product as a shift).
  const [mW, mTz] = tables ? [p.MW, 0] : constantWidth(consts.mul[0], p.MW);
  const productDsps = (shape: DspShape) => multiplierDsps(xW, mW, Math.min(p.PW - mTz, xW + mW), false, shape);
  const dsp = a.pe * productDsps(xc7Dsp);
  const mac16 = a.pe * productDsps(ice40Dsp);
  // + b in the DSP's post-adder when the product is one DSP; else adders of the partial products.
  const split = (shape: DspShape) => ({
    splitAddBits: a.pe * Math.max(0, productDsps(shape) - 1) * p.PW,
    // One channel: the constant product's + b stayed in LUTs in the sweep (not the DSP's post-adder).
    constBiasBits: tables ? 0 : a.pe * p.PW,
    lutMulBits: productDsps(shape) === 0 ? a.pe * xW * mW : 0,
  });
  let tableBits = 0;
  if (tables) {
    const bitOf = (v: number, w: number, col: number) => Number((BigInt.asUintN(w, BigInt(v)) >> BigInt(col)) & 1n);
    for (let lane = 0; lane < a.pe; lane++) {
      const c = (g: number) => g * a.pe + lane;
      tableBits += romLogic(groups, p.MW + p.BW, (g, col) => (col < p.MW ? bitOf(consts.mul[c(g)], p.MW, col) : bitOf(consts.bias[c(g)], p.BW, col - p.MW))).lut;
    }
  }
  return {
    ice40Lut: { ...split(ice40Dsp), dspGlue: mac16 },
    lut: {
      ...split(xc7Dsp),
      // two compares of the shifted product's bits above the output (equal to the bound's sign-extension)
      clampBits: a.pe * Math.max(0, p.PW - p.SHIFT - p.OUT_W),
      // Only half-even designs have the term (floor designs' estimates are unchanged).
      ...(p.ROUND === 1 ? { roundBits: a.pe * p.PW } : {}),
      // The clamp's output mux (value / lower / upper bound): only where there is a clamp; without
      // one the output is the product's bits straight out of the DSP (measured: 3-4 LUTs a layer).
      outBits: p.PW - p.SHIFT > p.OUT_W ? a.pe * p.OUT_W : 0,
      tableBits,
      dspGlue: dsp,
      control: log2(groups),
    },
    ff: { outBits: a.pe * p.OUT_W, control: log2(groups) + 2 },
    dsp,
    mac16,
    memories: [],
  };
}
