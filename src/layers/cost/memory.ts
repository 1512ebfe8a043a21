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
  /** Read combinationally (no block RAM can do that: LUTRAM on 7-series, flip-flops on iCE40). */
  asyncRead?: boolean;
  /** A constant ROM whose logic (when not in block RAM) the layer's cost terms count (romLogic), not memLut6/memLut4. */
  logicInTerms?: boolean;
  /** Fewest bits Yosys puts into block RAM for this memory's kind, where it differs from BRAM_MIN_BITS. */
  minBlockRamBits?: number;
}

const bramAspects: [number, number][] = [[16384, 1], [8192, 2], [4096, 4], [2048, 9], [1024, 18], [512, 36]];
const ebrAspects: [number, number][] = [[2048, 2], [1024, 4], [512, 8], [256, 16]];

/** Below this many bits (or at most 64 words deep), Yosys keeps a memory in LUTs. */
export const BRAM_MIN_BITS = 4096;

function blocks(m: Memory, aspects: [number, number][]): number {
  return Math.min(...aspects.map(([d, w]) => Math.ceil(m.width / w) * Math.ceil(m.depth / d)));
}

export function inBlockRam(m: Memory): boolean {
  return !m.asyncRead && m.depth > 64 && m.depth * m.width >= (m.minBlockRamBits ?? BRAM_MIN_BITS);
}

/**
 * The Yosys `rom_style` a constant ROM's RTL carries (hw/mvu's ROM_STYLE), so synthesis places it where
 * the estimate does: "block" where both families' estimates put it in block RAM (Yosys 0.23 and 0.55
 * otherwise keep a wide, shallow ROM such as 128×256 in ~10 LUTs a bit: 2,700 LUTs instead of 8 BRAM18),
 * "logic" where neither does, "auto" (Yosys's own choice) in between.
 */
export function romStyle(m: Memory): 'block' | 'logic' | 'auto' {
  const xc7 = inBlockRam(m);
  const ice40 = inEbr(m);
  return xc7 && ice40 ? 'block' : !xc7 && !ice40 ? 'logic' : 'auto';
}

export function bram18(m: Memory): number {
  return inBlockRam(m) ? blocks(m, bramAspects) : 0;
}

/**
 * iCE40 (synth_ice40's memory_libmap, as measured in the calibration sweep): a buffer read synchronously
 * goes to EBR above 64 bits; a ROM only when deeper than 64 words and above 1024 bits (smaller ones
 * are cheaper as LUT4 logic).
 */
export function inEbr(m: Memory): boolean {
  if (m.asyncRead || m.depth <= 1) return false;
  return m.writable ? m.depth >= 8 && m.depth * m.width > 64 : m.depth > 64 && m.depth * m.width > 1024;
}

export function ebr(m: Memory): number {
  return inEbr(m) ? blocks(m, ebrAspects) : 0;
}

/** LUT6s (7-series) a memory costs when it is not in block RAM. */
export function memLut6(m: Memory): number {
  if (inBlockRam(m) || m.depth <= 1 || m.logicInTerms) return 0;
  // RAM32M: 32 words × 6 bits (one write, three read ports of 2 bits); RAM64M: 64 × 3; both 4 LUTs.
  if (m.writable) return m.depth <= 32 ? 4 * Math.ceil(m.width / 6) : 4 * Math.ceil(m.width / 3) * Math.ceil(m.depth / 64);
  return m.width * Math.ceil(m.depth / 64) * (m.depth > 64 ? 1.5 : 1);
}

/** LUT4s (iCE40) a memory costs when it is not in EBR (no distributed RAM on iCE40: DFFs + mux). */
export function memLut4(m: Memory): number {
  if (inEbr(m) || m.depth <= 1 || m.logicInTerms) return 0;
  return m.writable ? m.width * m.depth * 0.6 : m.width * Math.ceil(m.depth / 16) * 1.3;
}

/** Flip-flops a memory costs on iCE40 when written at run time and not in EBR. */
export function memFf4(m: Memory): number {
  return !inEbr(m) && m.writable && m.depth > 1 ? m.width * m.depth : 0;
}

/** What a constant ROM costs in logic depends on its contents: the distinct bit columns (one output bit over all addresses). */
export interface RomColumns {
  /** Distinct non-constant columns: the registers left after Yosys merges identical flip-flops. */
  distinct: number;
  /** Distinct columns up to complement that are not an address bit: the logic functions ABC builds. */
  functions: number;
}

/**
 * Columns of a depth × width constant ROM whose bit (word, col) is `bit(word, col)`; hashed, O(depth·width),
 * `bit` called once per bit.
 */
export function romColumns(depth: number, width: number, bit: (word: number, col: number) => number): RomColumns {
  return columnsOf(depth, width, (c, out) => {
    for (let i = 0; i < depth; i++) out[i] = bit(i, c) & 1;
  });
}

/**
 * romColumns of a ROM whose words are `fields` fields of `fieldBits` bits each: column k·fieldBits + b
 * is bit b of field k, the field's value v taken modulo 2^fieldBits (two's complement for negative v:
 * the bit is ⌊((v mod 2^fieldBits) + 2^fieldBits) mod 2^fieldBits / 2^b⌋ mod 2). The same result as
 * romColumns with that `bit`, but `value` is called once per field, not once per bit.
 */
export function romColumnsOfFields(depth: number, fields: number, fieldBits: number, value: (word: number, field: number) => number): RomColumns {
  const mask = 2 ** fieldBits;
  const unsigned = (v: number) => ((v % mask) + mask) % mask;
  if (fieldBits > 32) return romColumns(depth, fields * fieldBits, (w, c) => Math.floor(unsigned(value(w, Math.floor(c / fieldBits))) / 2 ** (c % fieldBits)));
  // In [0, 2^32): a Uint32Array keeps ⌊u⌋, whose bit b is ⌊u / 2^b⌋ mod 2 (NaN from a non-finite v: 0, as `bit & 1` of NaN).
  const u = new Uint32Array(depth * fields);
  for (let i = 0; i < depth; i++) for (let k = 0; k < fields; k++) u[i * fields + k] = unsigned(value(i, k));
  return columnsOf(depth, fields * fieldBits, (c, out) => {
    const k = Math.floor(c / fieldBits);
    const b = c % fieldBits;
    for (let i = 0; i < depth; i++) out[i] = (u[i * fields + k] >>> b) & 1;
  });
}

/**
 * The counting behind romColumns: `fill(col, out)` writes column col's bits (0/1, one per word) into
 * out. A column's key is two 32-bit hashes over its words (as a 4-character string); its complement's
 * key (for the canonical form) is hashed only for columns whose word 0 bit is 1.
 */
function columnsOf(depth: number, width: number, fill: (col: number, out: Uint8Array) => void): RomColumns {
  const aw = depth > 1 ? Math.ceil(Math.log2(depth)) : 0;
  const bits = new Uint8Array(depth);
  const key = (complement: number) => {
    let h = 0;
    let g = 0;
    for (let i = 0; i < depth; i++) {
      const b = bits[i] ^ complement;
      h = (Math.imul(h, 1000003) + (b + 1) * (i + 7)) >>> 0;
      g = (Math.imul(g ^ (b * 0x5bd1e995), 16777619) + i) >>> 0;
    }
    return String.fromCharCode(h >>> 16, h & 0xffff, g >>> 16, g & 0xffff);
  };
  // The address bits (and their complements): a column equal to one is a wire, not a function.
  const addressBits = new Set<string>();
  for (let k = 0; k < aw; k++) {
    for (let i = 0; i < depth; i++) bits[i] = (i >> k) & 1;
    addressBits.add(key(0));
    addressBits.add(key(1));
  }
  const exact = new Set<string>();
  const canon = new Set<string>();
  for (let c = 0; c < width; c++) {
    fill(c, bits);
    let ones = 0;
    for (let i = 0; i < depth; i++) ones += bits[i];
    if (ones === 0 || ones === depth) continue; // constant columns cost nothing
    const k = key(0);
    exact.add(k);
    if (addressBits.has(k)) continue;
    // Canonical up to complement: the column with bit 0 of word 0 cleared.
    canon.add(bits[0] ? key(1) : k);
  }
  return { distinct: exact.size, functions: canon.size };
}

/**
 * A constant ROM kept in logic, with a registered read: a LUT function per distinct column (up to
 * 32 words one LUT6 — the address and a bit of next-address logic; each further address bit doubles
 * it, MUXF7/F8 trees; calibration: 2^(AW−5) fits the MVU sweep better than 2^(AW−4) or 2^(AW−6)) and
 * a flip-flop per distinct register.
 */
export function romLogic(depth: number, width: number, bit: (word: number, col: number) => number): { lut: number; ff: number } {
  return logicOf(depth, romColumns(depth, width, bit));
}

/** romLogic of a ROM of `fields` fields of `fieldBits` bits per word (romColumnsOfFields): the same numbers, faster. */
export function romLogicOfFields(depth: number, fields: number, fieldBits: number, value: (word: number, field: number) => number): { lut: number; ff: number } {
  return logicOf(depth, romColumnsOfFields(depth, fields, fieldBits, value));
}

function logicOf(depth: number, cols: RomColumns): { lut: number; ff: number } {
  return { lut: cols.functions * 2 ** Math.max(0, Math.ceil(Math.log2(Math.max(depth, 2))) - 5), ff: cols.distinct };
}
