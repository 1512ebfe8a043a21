// Sparse MVU cost (hw/mvu/mvu_sparse.v): the dense MVU's terms (cost/mvu.ts) with the weight ROM
// replaced by the sparse unit's STEPS-word ROM (only the nonzero groups' words), plus its index ROM
// of STEPS × (⌈log2 SF⌉ + 1) bits {last, column fold} and a step counter. The input buffer is read
// combinationally by index, so it has no read register. ROM logic is counted like cost/mvu.ts does
// (distinct bit columns, memory.ts romColumns); the coefficients are cost/mvu.ts's fitted ones for
// the same features (not calibrated on sparse designs).
import { bitWidth, type QType } from '../../ir/datatype.ts';
import { sparseIndexBits, sparseRoms } from '../common/mvu-weights.ts';
import { inBlockRam, romLogic, type Memory } from './memory.ts';
import { mvuCost, type MvuAttrs } from './mvu.ts';
import { log2, type CostTerms, type Params } from './terms.ts';

/** One constant ROM's terms: block RAM, or logic per distinct column (as cost/mvu.ts). */
function romTerms(depth: number, width: number, bit: (word: number, col: number) => number): { memory?: Memory; lut: number; ff: number } {
  const rom: Memory = { depth, width, writable: false };
  if (inBlockRam(rom)) return { memory: rom, lut: 0, ff: 0 };
  return romLogic(depth, width, bit);
}

export function mvuSparseCost(a: MvuAttrs, consts: Record<string, number[]>, p: Params): CostTerms {
  const dense = mvuCost(a, consts, p);
  const ww = bitWidth(a.weightType);
  const sf = a.cols / a.simd;
  const lanes = a.pe * a.simd;
  const roms = sparseRoms(a, consts.weights);
  const steps = roms.words.length;
  const bits = sparseIndexBits(sf);
  const weightRom = romTerms(steps, lanes * ww, (word, col) => roms.words[word][Math.floor(col / ww)] >> (col % ww));
  const indexRom = romTerms(steps, bits, (word, col) => (col === bits - 1 ? (roms.last[word] ? 1 : 0) : roms.index[word] >> col));

  const { romColumns: _denseRom, ...lut } = dense.lut;
  const { romRegBits: _denseRegs, xRegBits: _xReg, ...ff } = dense.ff;
  // The dense weight ROM was in block RAM if it is listed after the input buffer (cost/mvu.ts's order).
  const memories = dense.memories.slice(0, 1);
  for (const r of [weightRom, indexRom]) if (r.memory) memories.push(r.memory);
  return {
    ...dense,
    lut: { ...lut, control: log2(steps) + log2(sf), romColumns: weightRom.lut, indexRomColumns: indexRom.lut },
    ice40Lut: { ...dense.ice40Lut, romColumns: weightRom.lut },
    ff: { ...ff, control: 2 * log2(steps) + log2(sf) + 7, romRegBits: weightRom.ff, indexRegBits: indexRom.ff },
    memories,
  };
}
