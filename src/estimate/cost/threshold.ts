// Threshold cost (hw/threshold/threshold.v): PE lanes × STEPS comparators of TW bits against the
// channel group's thresholds (a constant, a LUT mux over channel groups, or a ROM when USE_ROM), a
// popcount of STEPS bits per lane and OUT_W-bit output registers.
import { log2, type CostTerms, type Params } from './terms.ts';

interface ThresholdAttrs { elems: number; channels: number; steps: number; pe: number }

export function thresholdCost(a: ThresholdAttrs, p: Params): CostTerms {
  const groups = a.channels > 1 ? a.channels / a.pe : 1;
  const perWord = (a.channels > 1 ? a.pe : 1) * a.steps;
  const rom = p.USE_ROM === 1;
  return {
    lut: {
      // Against a constant (one group) a comparator is ~TW/2 LUTs; against a variable ~TW (carry chain).
      cmpConstBits: groups === 1 ? a.pe * a.steps * p.TW : 0,
      cmpVarBits: groups > 1 ? a.pe * a.steps * p.TW : 0,
      // Threshold selection by channel group: a LUT ROM of the table (not USE_ROM) per bit.
      tableBits: !rom && groups > 1 ? perWord * p.TW * Math.ceil(groups / 64) : 0,
      popcount: a.pe * a.steps,
      control: log2(groups),
    },
    ff: { outBits: a.pe * p.OUT_W, tableRegBits: rom ? perWord * p.TW : 0, control: log2(groups) + 2 },
    dsp: 0,
    mac16: 0,
    memories: rom ? [{ depth: groups, width: perWord * p.TW, writable: false }] : [],
  };
}
