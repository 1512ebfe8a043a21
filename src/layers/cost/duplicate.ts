import type { CostTerms, Params } from './terms.ts';

/** hw/duplicate: one W-bit register feeding both outputs, a valid flag each. */
export function duplicateCost(p: Params): CostTerms {
  return { lut: { control: 4 }, ff: { dataBits: p.W, control: 2 }, dsp: 0, mac16: 0, memories: [] };
}
