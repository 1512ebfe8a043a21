import { log2, type CostTerms, type Params } from './terms.ts';

/** hw/pad: row / column / channel-fold counters, a PE·EW-bit mux (pad code or input) into the output register. */
export function padCost(p: Params): CostTerms {
  const counters = log2(p.C / p.PE) + log2(p.TOP + p.IH + p.BOTTOM + 1) + log2(p.LEFT + p.IW + p.RIGHT + 1);
  // Each counter: an incrementer and its wrap / border compares (about two LUTs a bit).
  return { lut: { muxBits: p.PE * p.EW, counterBits: 2 * counters }, ff: { outBits: p.PE * p.EW, counterBits: counters + 1 }, dsp: 0, mac16: 0, memories: [] };
}
