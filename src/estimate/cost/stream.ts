// Cost of the streaming layers (hw/requant, label_select, common/fifo, common/dwc, sliding_window, pad,
// duplicate, add_streams, concat; window_reduce: window-reduce.ts): per layer kind the structures its RTL builds, as
// features whose LUT / FF coefficients the calibration sweep fits (a kind with fewer than four measured
// cases keeps 1 per feature unit, the first-principles count), plus buffers as memories (memory.ts).
import { constantWidth, ice40Dsp, multiplierDsps, xc7Dsp, type DspShape } from './dsp.ts';
import { inBlockRam, inEbr, romLogic, type Memory } from './memory.ts';
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

/**
 * hw/common/fifo.v: depth × width memory read at the read pointer, two (AW+1)-bit pointers and
 * full/empty. The read is combinational, but the address is a register, which Yosys folds into the
 * read port: a synchronous read, so big FIFOs go to block RAM.
 */
export function bufferCost(depth: number, width: number): CostTerms {
  const mem: Memory = { depth, width, writable: true };
  // In block RAM the RTL's read-during-write behaviour is emulated around it: a data-wide bypass
  // register and mux (calibration: about one LUT and one FF per data bit).
  const bypass = (inBram: boolean) => (inBram ? width : 0);
  return {
    lut: { pointerBits: 2 * (log2(depth) + 1), blockReadBits: bypass(inBlockRam(mem)) },
    ice40Lut: { blockReadBits: bypass(inEbr(mem)) },
    ff: { pointerBits: 2 * (log2(depth) + 1), blockReadBits: bypass(inBlockRam(mem)) },
    dsp: 0,
    mac16: 0,
    memories: [mem],
  };
}

/** hw/duplicate: one W-bit register feeding both outputs, a valid flag each. */
export function duplicateCost(p: Params): CostTerms {
  return { lut: { control: 4 }, ff: { dataBits: p.W, control: 2 }, dsp: 0, mac16: 0, memories: [] };
}

/** hw/add_streams: PE OUT_W-bit adders (both operands extended from their codes) into the output register. */
export function addStreamsCost(p: Params): CostTerms {
  return { lut: { addBits: p.PE * p.OUT_W, control: 1 }, ff: { outBits: p.PE * p.OUT_W, control: 1 }, dsp: 0, mac16: 0, memories: [] };
}

/** hw/concat: per lane an OUT_W-bit 2:1 mux (input a or b by beat count) into the output register. */
export function concatCost(p: Params): CostTerms {
  const beats = log2((p.CA + p.CB) / p.PE + 1);
  return { lut: { muxBits: p.PE * p.OUT_W, control: beats }, ff: { outBits: p.PE * p.OUT_W, control: beats + 1 }, dsp: 0, mac16: 0, memories: [] };
}

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

/** hw/pad: row / column / channel-fold counters, a PE·EW-bit mux (pad code or input) into the output register. */
export function padCost(p: Params): CostTerms {
  const counters = log2(p.C / p.PE) + log2(p.TOP + p.IH + p.BOTTOM + 1) + log2(p.LEFT + p.IW + p.RIGHT + 1);
  // Each counter: an incrementer and its wrap / border compares (about two LUTs a bit).
  return { lut: { muxBits: p.PE * p.EW, counterBits: 2 * counters }, ff: { outBits: p.PE * p.EW, counterBits: counters + 1 }, dsp: 0, mac16: 0, memories: [] };
}

/**
 * hw/sliding_window: a DEPTH-word line buffer of PE·EW-bit beats, written in order and read at a
 * computed address (window base + tap offsets; counters for channel fold, kernel x / y, output x / y)
 * into the output register, which block RAM absorbs as its read register; plus the address arithmetic.
 */
export function slidingWindowCost(a: { pe: number; kh: number; kw: number; channels: number }, p: Params): CostTerms {
  const width = a.pe * p.EW;
  const buffer: Memory = { depth: p.DEPTH, width, writable: true };
  return {
    lut: { muxBits: width, addressBits: 4 * log2(p.DEPTH) + 2 * log2(p.IH * p.IW) },
    ff: { outBits: inBlockRam(buffer) ? 0 : width, addressBits: 4 * log2(p.DEPTH) + 2 * log2(p.IH * p.IW) + 8 },
    dsp: 0,
    mac16: 0,
    memories: [buffer],
  };
}

/** Layers that register and steer beats: roughly one LUT and one FF per bit in and out. */
export function passThroughCost(inBits: number, outBits: number, mulLanes = 0): CostTerms {
  return {
    lut: { beatBits: inBits + outBits },
    ff: { beatBits: Math.max(inBits, outBits) + 2 },
    dsp: mulLanes,
    mac16: mulLanes,
    memories: [],
  };
}

