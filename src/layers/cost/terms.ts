// What a layer kind's cost model gives: named hardware quantities ("features", in bits or counts of
// the structure the RTL in hw/ builds) that LUTs / FFs / iCE40 LCs are linear in, plus the exact
// multiplier and memory inventory (DSP48 / SB_MAC16 and BRAM18 / EBR are counted, not fitted).
// The linear coefficients per feature come from the calibration sweep (coefficients.json, written by
// `make calibrate`, see docs/calibration.md); a feature with no fitted coefficient counts 1 LUT (or
// FF) per unit, the first-principles value (so does every feature of a kind with fewer than four
// measured cases). Each layer kind's cost form is its LayerSpec.cost, written in this folder as
// <kind>.ts (window-reduce.ts serves MaxPool, AvgPool and VectorVector; mvu-sparse.ts the MVU's
// sparse mode); dsp.ts, memory.ts and this file are what they share.
import type { Memory } from './memory.ts';

export interface CostTerms {
  lut: Record<string, number>;
  /** iCE40 values of LUT features that differ there (e.g. a ROM in EBR on iCE40 but logic on 7-series). */
  ice40Lut?: Record<string, number>;
  ff: Record<string, number>;
  /** iCE40 values of FF features that differ there. */
  ice40Ff?: Record<string, number>;
  /** Hardware multipliers Yosys maps to DSP48E1 on 7-series. */
  dsp: number;
  /** Hardware multipliers Yosys maps to SB_MAC16 on iCE40 (synth_ice40 -dsp). */
  mac16: number;
  memories: Memory[];
  /** iCE40's memory inventory where it differs from 7-series' (synthesis keeps or maps a memory differently). */
  ice40Memories?: Memory[];
}

/** The RTL parameters of a layer as numbers (what codegen passes to the hw/ module). */
export type Params = Record<string, number>;

export const log2 = (n: number) => (n > 1 ? Math.ceil(Math.log2(n)) : 1);
