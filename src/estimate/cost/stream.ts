// Cost of the streaming layers without arithmetic arrays (hw/requant, label_select, common/fifo, dwc,
// sliding_window, pad, window_reduce, duplicate, add_streams, concat): registers and muxes on the beat
// width, plus their buffers as memories.
import { log2, type CostTerms, type Params } from './terms.ts';

export function requantCost(a: { elems: number; channels: number; pe: number }, p: Params): CostTerms {
  const groups = a.channels > 1 ? a.channels / a.pe : 1;
  // One multiplier per lane (WI × MW, both ≥ 2 bits → one DSP48E1 / SB_MAC16); the product, bias add,
  // shift and clamp are PW-bit adders/compares.
  return {
    lut: { productBits: a.pe * p.PW, clampBits: a.pe * p.OUT_W, tableBits: groups > 1 ? a.pe * (p.MW + p.BW) * Math.ceil(groups / 64) : 0, control: log2(groups) },
    ff: { productBits: a.pe * p.PW, outBits: a.pe * p.OUT_W, control: log2(groups) + 2 },
    dsp: a.pe,
    mac16: a.pe,
    memories: [],
  };
}

export function labelSelectCost(a: { n: number; k: number; pe: number }, p: Params): CostTerms {
  // k ranked (value, index) registers with a compare/insert per register, fed PE elements a cycle.
  return {
    lut: { compareBits: a.k * a.pe * (p.WI + p.OUT_W), control: log2(a.n) },
    ff: { rankBits: a.k * (p.WI + p.OUT_W), control: log2(a.n) + 2 },
    dsp: 0,
    mac16: 0,
    memories: [],
  };
}

/** A FIFO / buffer of depth × width bits with read/write pointers. */
export function bufferCost(depth: number, width: number): CostTerms {
  return {
    lut: { pointerBits: 2 * log2(depth), muxBits: width },
    ff: { pointerBits: 2 * log2(depth) + 2, outBits: width },
    dsp: 0,
    mac16: 0,
    memories: [{ depth, width, writable: true }],
  };
}

export function slidingWindowCost(a: { pe: number; kh: number; kw: number; channels: number }, p: Params): CostTerms {
  const width = a.pe * p.EW;
  return {
    lut: { muxBits: width, addressBits: 4 * log2(p.DEPTH) + 2 * log2(p.IH * p.IW) },
    ff: { outBits: width, addressBits: 4 * log2(p.DEPTH) + 2 * log2(p.IH * p.IW) + 8 },
    dsp: 0,
    mac16: 0,
    memories: [{ depth: p.DEPTH, width, writable: true }],
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
