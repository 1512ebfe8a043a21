import { log2, type CostTerms, type Params } from './terms.ts';

/** hw/concat: per lane an OUT_W-bit 2:1 mux (input a or b by beat count) into the output register. */
export function concatCost(p: Params): CostTerms {
  const beats = log2((p.CA + p.CB) / p.PE + 1);
  return { lut: { muxBits: p.PE * p.OUT_W, control: beats }, ff: { outBits: p.PE * p.OUT_W, control: beats + 1 }, dsp: 0, mac16: 0, memories: [] };
}
