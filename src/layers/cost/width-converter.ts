import { log2, type CostTerms, type Params } from './terms.ts';

/**
 * hw/common/dwc.v: a CAP = 2·(IN_FOLD + OUT_FOLD)-element shift buffer in flip-flops. Per cycle a pop
 * shifts it down by OUT_FOLD elements (a 2:1 mux per bit), then a beat is inserted at element offset
 * `kept`: `{0, s_axis_tdata} << (kept·EW)`, a logarithmic shifter of CW = ⌈log2(CAP + 1)⌉ levels
 * whose input is only IN_FOLD elements wide, so level k (shift 2^k) muxes only the elements the input
 * can reach by then, [2^k, IN_FOLD + 2^(k+1) − 1) (capped at CAP); the mask clearing the slots at and
 * above `kept` and the merge are per buffer bit.
 */
export function widthConverterCost(p: Params): CostTerms {
  const cap = 2 * (p.IN_FOLD + p.OUT_FOLD);
  const bits = cap * p.EW;
  const cw = log2(cap + 1);
  // kept = pop ? count − OUT_FOLD : count: its bits below OUT_FOLD's trailing zeros are count's, the
  // others depend on pop (through the subtractor). Levels selected by such a bit cost about twice as
  // much (out of context, IN 6 / OUT 1 / EW 8: 453 LUTs as written, 242 with kept = count; ABC builds
  // them as wide muxes, 104 MUXF7 + 43 MUXF8 vs 16 MUXF7), counted apart (popShiftBits).
  let tz = 0;
  while ((p.OUT_FOLD >> tz) % 2 === 0 && tz < cw) tz++;
  let shiftMuxes = 0;
  let popShiftMuxes = 0;
  for (let k = 0; k < cw; k++) {
    const m = Math.max(0, Math.min(cap, p.IN_FOLD + 2 ** (k + 1) - 1) - 2 ** k);
    if (k < tz) shiftMuxes += m;
    else popShiftMuxes += m;
  }
  return {
    lut: { shiftBits: shiftMuxes * p.EW, popShiftBits: popShiftMuxes * p.EW, bufferBits: bits, control: cw },
    ff: { bufferBits: bits, control: cw },
    dsp: 0,
    mac16: 0,
    memories: [],
  };
}
