import type { CostTerms, Params } from './terms.ts';

/** hw/add_streams: PE OUT_W-bit adders (both operands extended from their codes) into the output register. */
export function addStreamsCost(p: Params): CostTerms {
  return { lut: { addBits: p.PE * p.OUT_W, control: 1 }, ff: { outBits: p.PE * p.OUT_W, control: 1 }, dsp: 0, mac16: 0, memories: [] };
}
