// Memories (ROMs, buffers, FIFOs) → block RAM or distributed RAM, as Yosys 0.23 maps them.
// Where the numbers come from:
//  - 7-series RAMB18E1 aspect ratios 16K×1, 8K×2, 4K×4, 2K×9, 1K×18, 512×36 (UG473 table 1-7); the count
//    is the cheapest aspect ratio's ceil(width/w)·ceil(depth/d).
//  - iCE40 SB_RAM40_4K aspect ratios 256×16, 512×8, 1024×4, 2048×2 (Lattice TN1250).
//  - Yosys keeps small memories in LUTs: on 7-series a RAM64M holds 64 words × 3 bits in 4 LUTs (one
//    write port, the MVU's input buffer), a ROM bit of up to 64 words is one LUT6 (more words: a LUT6 per
//    64 plus the MUXF7/F8 tree); on iCE40 a LUT4 holds 16 words of one bit.
//  - BRAM_MIN_BITS: the smallest memory Yosys put into block RAM in the calibration sweep
//    (docs/calibration.md); below it the memory stays in LUTs.
export interface Memory {
  depth: number;
  width: number;
  /** Written at run time (buffer / FIFO) rather than a constant ROM. */
  writable: boolean;
}

const bramAspects: [number, number][] = [[16384, 1], [8192, 2], [4096, 4], [2048, 9], [1024, 18], [512, 36]];
const ebrAspects: [number, number][] = [[2048, 2], [1024, 4], [512, 8], [256, 16]];

/** Below this many bits (or at most 64 words deep), Yosys keeps a memory in LUTs. */
export const BRAM_MIN_BITS = 4096;

function blocks(m: Memory, aspects: [number, number][]): number {
  return Math.min(...aspects.map(([d, w]) => Math.ceil(m.width / w) * Math.ceil(m.depth / d)));
}

export function inBlockRam(m: Memory): boolean {
  return m.depth > 64 && m.depth * m.width >= BRAM_MIN_BITS;
}

export function bram18(m: Memory): number {
  return inBlockRam(m) ? blocks(m, bramAspects) : 0;
}

export function ebr(m: Memory): number {
  return inBlockRam(m) ? blocks(m, ebrAspects) : 0;
}

/** LUT6s (7-series) a memory costs when it is not in block RAM. */
export function memLut6(m: Memory): number {
  if (inBlockRam(m) || m.depth <= 1) return 0;
  if (m.writable) return 4 * Math.ceil(m.width / 3) * Math.ceil(m.depth / 64);
  return m.width * Math.ceil(m.depth / 64) * (m.depth > 64 ? 1.5 : 1);
}

/** LUT4s (iCE40) a memory costs when it is not in EBR (no distributed RAM on iCE40: DFFs + mux). */
export function memLut4(m: Memory): number {
  if (inBlockRam(m) || m.depth <= 1) return 0;
  return m.writable ? m.width * m.depth * 0.6 : m.width * Math.ceil(m.depth / 16) * 1.3;
}

/** Flip-flops a memory costs on iCE40 when written at run time and not in EBR. */
export function memFf4(m: Memory): number {
  return !inBlockRam(m) && m.writable && m.depth > 1 ? m.width * m.depth : 0;
}
