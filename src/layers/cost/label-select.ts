import { log2, type CostTerms, type Params } from './terms.ts';

/**
 * hw/label_select: K ranked (value, index) registers; each of the PE elements of a beat is compared
 * with all K (WI+1-bit signed compares) and inserted (a (WI+1+OUT_W)-bit mux per register, plus its
 * used flag), one element after the other within the cycle, so the logic is PE·K deep; plus a K-beat
 * output buffer. With the whole vector in one beat (N = PE) the ranks start empty in every beat and
 * synthesis sees which are filled: element e compares only with the min(e, K) ranks filled before
 * it (an empty rank is beaten without a compare) and moves only the min(e + 1, K) it can reach.
 */
export function labelSelectCost(a: { n: number; k: number; pe: number }, p: Params): CostTerms {
  const oneBeat = a.n === a.pe;
  let compares = 0;
  let insertBits = 0;
  let chainedBits = 0;
  for (let e = 0; e < a.pe; e++) {
    compares += oneBeat ? Math.min(e, a.k) : a.k;
    const moved = oneBeat ? Math.min(e + 1, a.k) : a.k;
    // With the whole vector in one beat the list after the last element is only read for its indices
    // (nidx into the output buffer; no rank registers): the last element's value muxes have no reader
    // and synthesis removes them.
    const valueBits = oneBeat && e === a.pe - 1 ? 0 : p.WI + 1;
    // Multi-beat, element e ≥ 1: the list it is inserted into is this cycle's muxes of the registered
    // ranks and earlier elements, which synthesis collapses into wider muxes (measured,
    // ls_8_k2_INT4_pe2: 37 MUXF7 + 11 MUXF8 for 2 ranks): counted apart from the first element's
    // 3:1 muxes on registers.
    if (!oneBeat && e > 0) chainedBits += moved * (valueBits + 1 + p.OUT_W);
    else insertBits += moved * (valueBits + 1 + p.OUT_W);
  }
  return {
    lut: {
      compareBits: compares * (p.WI + 1),
      insertBits,
      chainedInsertBits: chainedBits,
      // common/out_reg.v with BEATS = K > 1: every buffer bit is loaded (nidx) or shifted down by one
      // index (a 2:1 mux per bit: K·OUT_W; measured out of context, K = 3, OUT_W = 6: 23 LUTs with its
      // beat counter); with K = 1 the load is the flip-flops' enable.
      outShiftBits: a.k > 1 ? a.k * p.OUT_W : 0,
      control: log2(a.n),
    },
    // With the whole vector in one beat nothing is carried between beats: no rank registers.
    ff: { rankBits: a.n > a.pe ? a.k * (p.WI + 1 + p.OUT_W + 1) : 0, outBits: a.k * p.OUT_W, control: log2(a.n) + 2 },
    dsp: 0,
    mac16: 0,
    memories: [],
  };
}
