import { inBlockRam, inEbr, type Memory } from './memory.ts';
import { log2, type CostTerms } from './terms.ts';

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
