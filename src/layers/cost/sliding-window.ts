import { inBlockRam, type Memory } from './memory.ts';
import { log2, type CostTerms, type Params } from './terms.ts';

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
