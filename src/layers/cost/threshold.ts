// Threshold cost (hw/threshold/threshold.v): per lane STEPS comparators x ≥ t (TW bits, signed), a
// count of the passed steps mapped to the output code, and an OUT_W-bit output register. The
// thresholds of the current channel group are
//  - one group (CHANNELS ≤ PE): constants, so each comparator is against a constant, and one against
//    the input range's ends (RTL clamps thresholds to [lo, hi + 1]) folds away entirely;
//  - several groups: a constant table, each bit a column read at the group counter (logic per distinct
//    bit column, read combinationally: memory.ts romLogic), compared by variable-threshold comparators;
//  - USE_ROM (big tables): a registered ROM, in block RAM when large enough.
// A bipolar output is a lookup of OUT_BIAS + OUT_SCALE·n > 0 at the narrow count n.
import { range, type QType } from '../../ir/datatype.ts';
import { inBlockRam, inEbr, romLogicOfFields, type Memory } from './memory.ts';
import { log2, type CostTerms, type Params } from './terms.ts';

interface ThresholdAttrs { elems: number; channels: number; steps: number; pe: number; inType: QType }

export function thresholdCost(a: ThresholdAttrs, consts: Record<string, number[]>, p: Params): CostTerms {
  const groups = a.channels > 1 ? a.channels / a.pe : 1;
  const perWord = (a.channels > 1 ? a.pe : 1) * a.steps;
  const rom = p.USE_ROM === 1;
  const [xlo, xhi] = range(a.inType);
  const t = consts.thresholds.map((v) => Math.min(Math.max(v, xlo), xhi + 1));
  const lut: Record<string, number> = {
    // The count of passed steps: an adder tree over STEPS compare bits into ⌈log2(STEPS + 1)⌉ bits
    // (STEPS − 1 adders of growing width: about STEPS · count-width full-adder bits).
    popcount: a.steps > 1 ? a.pe * a.steps * log2(a.steps + 1) : 0,
    // A bipolar output: the sign lookup at the count (a few LUTs per lane with several steps).
    bipolarLanes: p.OUT_KIND === 2 ? a.pe : 0,
    control: log2(groups),
  };
  const ice40Lut: Record<string, number> = {};
  const ff: Record<string, number> = { outBits: a.pe * p.OUT_W, control: log2(groups) + 2 };
  const memories: Memory[] = [];
  if (groups === 1) {
    // Lane p compares against channel p's thresholds (or all lanes against the one channel's). x ≥ t
    // only looks at the input bits above t's trailing zeros (counted from the range's bottom, where
    // signed and unsigned order agree).
    let bits = 0;
    for (const v of t) {
      if (v <= xlo || v > xhi) continue;
      let d = v - xlo;
      let tz = 0;
      while (d % 2 === 0) {
        d /= 2;
        tz++;
      }
      bits += p.WI - tz;
    }
    lut.cmpConstBits = (a.channels > 1 ? 1 : a.pe) * bits;
  } else {
    lut.cmpVarBits = a.pe * a.steps * p.TW;
    const table: Memory = { depth: groups, width: perWord * p.TW, writable: false, logicInTerms: true };
    if (rom) memories.push(table);
    if (!rom || !inBlockRam(table) || !inEbr(table)) {
      // Word g: the group's perWord thresholds, TW bits each (two's complement).
      const logic = romLogicOfFields(groups, perWord, p.TW, (word, k) => t[word * perWord + k]);
      const inLogic = (inBram: boolean) => (!rom || !inBram ? logic.lut : 0);
      // A column over at most 8 groups is a function of ≤ 3 group-counter bits, which ABC folds into
      // the compare's LUT6s (with the input bit and the carry); over more groups it is logic of its own.
      const key = groups > 8 ? 'tableColumns' : 'smallTableColumns';
      lut[key] = inLogic(inBlockRam(table));
      ice40Lut[key] = inLogic(inEbr(table));
      if (rom) ff.tableRegBits = inBlockRam(table) ? 0 : logic.ff;
    }
  }
  return { lut, ice40Lut, ff, dsp: 0, mac16: 0, memories };
}
