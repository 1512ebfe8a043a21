// Threshold cost (hw/threshold/threshold.v): per lane STEPS comparators x ≥ t (TW bits, signed), a
// count of the passed steps mapped to the output code, and an OUT_W-bit output register. The
// thresholds of the current channel group are
//  - one group (CHANNELS ≤ PE): constants, so each comparator is against a constant, and one against
//    the input range's ends (RTL clamps thresholds to [lo, hi + 1]) folds away entirely;
//  - several groups: a constant table, each bit a column read at the group counter (logic per distinct
//    bit column, read combinationally: memory.ts romLogic), compared by variable-threshold comparators;
//  - USE_ROM (big tables): a registered ROM, in block RAM when large enough.
// A bipolar output is a lookup of OUT_BIAS + OUT_SCALE·n > 0 at the narrow count n.
// The search form (hw/threshold/threshold_search.v) has its own terms: searchCost below.
import { range, type QType } from '../../ir/datatype.ts';
import { searchStages, searchTable } from '../common/threshold-search.ts';
import { requantForm } from '../common/threshold-requant.ts';
import { constantWidth, ice40Dsp, multiplierDsps, xc7Dsp, type DspShape } from './dsp.ts';
import { inBlockRam, inEbr, romLogic, romLogicOfFields, type Memory } from './memory.ts';
import { log2, type CostTerms, type Params } from './terms.ts';

interface ThresholdAttrs { elems: number; channels: number; steps: number; pe: number; inType: QType; impl: string; outBias: number; outScale: number }

export function thresholdCost(a: ThresholdAttrs, consts: Record<string, number[]>, p: Params): CostTerms {
  if (a.impl === 'search') return searchCost(a, consts, p);
  if (a.impl === 'requant') return requantFormCost(a, consts, p);
  const groups = a.channels > 1 ? a.channels / a.pe : 1;
  const perWord = (a.channels > 1 ? a.pe : 1) * a.steps;
  const rom = p.USE_ROM === 1;
  const [xlo, xhi] = range(a.inType);
  const t = consts.thresholds.map((v) => Math.min(Math.max(v, xlo), xhi + 1));
  const lut: Record<string, number> = {
    // The count of passed steps: an adder tree over STEPS compare bits into ⌈log2(STEPS + 1)⌉ bits
    // (STEPS − 1 adders of growing width: about STEPS · count-width full-adder bits).
    popcount: a.steps > 1 ? a.pe * a.steps * log2(a.steps + 1) : 0,
    // A bipolar output: the sign lookup at the count (a few LUTs per lane with several steps).
    bipolarLanes: p.OUT_KIND === 2 ? a.pe : 0,
    control: log2(groups),
  };
  const ice40Lut: Record<string, number> = {};
  const ff: Record<string, number> = { outBits: a.pe * p.OUT_W, control: log2(groups) + 2 };
  const memories: Memory[] = [];
  if (groups === 1) {
    // Lane p compares against channel p's thresholds (or all lanes against the one channel's). x ≥ t
    // only looks at the input bits above t's trailing zeros (counted from the range's bottom, where
    // signed and unsigned order agree).
    lut.cmpConstBits = (a.channels > 1 ? 1 : a.pe) * constCompareBits(t, xlo, xhi, p.WI);
  } else {
    lut.cmpVarBits = a.pe * a.steps * p.TW;
    const table: Memory = { depth: groups, width: perWord * p.TW, writable: false, logicInTerms: true };
    if (rom) memories.push(table);
    if (!rom || !inBlockRam(table) || !inEbr(table)) {
      // Word g: the group's perWord thresholds, TW bits each (two's complement).
      const logic = romLogicOfFields(groups, perWord, p.TW, (word, k) => t[word * perWord + k]);
      const inLogic = (inBram: boolean) => (!rom || !inBram ? logic.lut : 0);
      // A column over at most 8 groups is a function of ≤ 3 group-counter bits, which ABC folds into
      // the compare's LUT6s (with the input bit and the carry); over more groups it is logic of its own.
      const key = groups > 8 ? 'tableColumns' : 'smallTableColumns';
      lut[key] = inLogic(inBlockRam(table));
      ice40Lut[key] = inLogic(inEbr(table));
      if (rom) ff.tableRegBits = inBlockRam(table) ? 0 : logic.ff;
    }
  }
  return { lut, ice40Lut, ff, dsp: 0, mac16: 0, memories };
}

/**
 * Input bits that x ≥ v compares, summed over the constants v: none for v outside (lo, hi] (always or
 * never passed), else only the bits above v's trailing zeros (counted from the range's bottom, where
 * signed and unsigned order agree).
 */
function constCompareBits(t: readonly number[], xlo: number, xhi: number, wi: number): number {
  let bits = 0;
  for (const v of t) {
    if (v <= xlo || v > xhi) continue;
    let d = v - xlo;
    let tz = 0;
    while (d % 2 === 0) {
      d /= 2;
      tz++;
    }
    bits += wi - tz;
  }
  return bits;
}

/**
 * The search form, per lane: STAGES stages, stage k one TW-bit comparator x ≥ T against its table
 * (GROUPS·2^k words of TW bits, read through a register one stage ahead) and the stage registers
 * (the input, WI bits once Yosys merges the sign extension, and the k bits of n found so far). A
 * one-word table (one channel group, stage 0) is a constant: its comparator folds like the parallel
 * form's. A table in block RAM (memory.ts inBlockRam / inEbr) costs its blocks and no logic (the read
 * register is the block's); otherwise its logic by contents (memory.ts romLogic). Per-tensor
 * thresholds (CHANNELS = 1): every lane has the same tables, each its own copy (its own address).
 */
/** Bits (of `width`, two's complement) that are not the same in every word. */
function varyingBits(words: readonly number[], width: number): number {
  let n = 0;
  for (let b = 0; b < width; b++) {
    const bit = (v: number) => Math.floor((((v % 2 ** width) + 2 ** width) % 2 ** width) / 2 ** b) % 2;
    const first = bit(words[0]);
    if (words.some((w) => bit(w) !== first)) n++;
  }
  return n;
}

/**
 * A stage table goes to a BRAM18 from this many bits on (the calibration sweep, Yosys 0.23: 512×17,
 * 512×21 and 1024×13 did, 1024×7, 512×13 and 256×21 stayed in logic).
 */
export const SEARCH_TABLE_BRAM_MIN_BITS = 8192;

function searchCost(a: ThresholdAttrs, consts: Record<string, number[]>, p: Params): CostTerms {
  const groups = a.channels > 1 ? a.channels / a.pe : 1;
  const tables = a.channels > 1 ? a.pe : 1; // distinct lane tables
  const copies = a.channels > 1 ? 1 : a.pe; // lanes per distinct table
  const stages = searchStages(a.steps);
  const [xlo, xhi] = range(a.inType);
  const t = consts.thresholds.map((v) => Math.min(Math.max(v, xlo), xhi + 1));
  const inBits = p.IN_KIND === 2 ? 1 : p.WI;
  const lut: Record<string, number> = {
    searchCmpBits: 0,
    searchConstCmpBits: 0,
    searchTableColumns: 0,
    searchSmallTableColumns: 0,
    // y = OUT_BIAS + OUT_SCALE·n: wires at bias 0, scale 1; else a small adder per lane (bipolar: a lookup).
    searchOutMapBits: p.OUT_KIND === 2 || p.OUT_BIAS !== 0 || p.OUT_SCALE !== 1 ? a.pe * p.OUT_W : 0,
    control: log2(groups),
  };
  const ice40Lut: Record<string, number> = { searchTableColumns: 0, searchSmallTableColumns: 0 };
  const ff: Record<string, number> = {
    outBits: a.pe * p.OUT_W,
    searchStageBits: a.pe * (stages * inBits + (stages * (stages - 1)) / 2),
    searchTableRegBits: 0,
    control: log2(groups) + (groups > 1 ? stages * log2(groups) : 0) + stages + 1,
  };
  const ice40Ff: Record<string, number> = { searchTableRegBits: 0 };
  const memories: Memory[] = [];
  for (let lane = 0; lane < tables; lane++) {
    for (let k = 0; k < stages; k++) {
      const words = searchTable(t, a.steps, groups, k, xhi + 1, (g) => (a.channels > 1 ? g * a.pe + lane : 0));
      if (words.length === 1) {
        lut.searchConstCmpBits += copies * constCompareBits(words, xlo, xhi, p.WI);
        continue;
      }
      // Yosys drops the table's constant bit columns before mapping it (e.g. the sign bit of thresholds that are all ≥ 0).
      const table: Memory = { depth: words.length, width: varyingBits(words, p.TW), writable: false, logicInTerms: true, minBlockRamBits: SEARCH_TABLE_BRAM_MIN_BITS };
      for (let c = 0; c < copies; c++) memories.push(table);
      lut.searchCmpBits += copies * p.TW;
      if (inBlockRam(table) && inEbr(table)) continue;
      const logic = romLogicOfFields(words.length, 1, p.TW, (w) => words[w]);
      const key = words.length > 8 ? 'searchTableColumns' : 'searchSmallTableColumns';
      if (!inBlockRam(table)) {
        lut[key] += copies * logic.lut;
        ff.searchTableRegBits += copies * logic.ff;
      }
      if (!inEbr(table)) {
        ice40Lut[key] += copies * logic.lut;
        ice40Ff.searchTableRegBits += copies * logic.ff;
      }
    }
  }
  return { lut, ice40Lut, ff, ice40Ff, dsp: 0, mac16: 0, memories };
}

/**
 * The requant form (hw/threshold/threshold_requant.v), per lane: x·M as a TW × MW multiply (DSPs as
 * Yosys cuts it; only the product's bits up to SHIFT + NW are used), + B (partial-product adders when
 * the product takes several DSPs), the two guard compares (x < FIRST, x ≥ LAST), one equality compare
 * and NW-bit mux per exception entry, the output map and register. With several channel groups the
 * lane's table word (M, B, FIRST, LAST, exceptions) is constant columns read at the group counter
 * (memory.ts romLogic); with one, constants (compares against them fold to about half).
 */
function requantFormCost(a: ThresholdAttrs, consts: Record<string, number[]>, p: Params): CostTerms {
  const f = requantForm(a.inType, a.channels, a.steps, consts.thresholds);
  if (typeof f === 'string') throw new Error(`requant form without a fit: ${f}`); // check() refuses first
  const groups = a.channels > 1 ? a.channels / a.pe : 1;
  const lanes = a.channels > 1 ? a.pe : 1; // distinct lane tables
  const copies = a.channels > 1 ? 1 : a.pe;
  const nw = Math.ceil(Math.log2(a.steps + 1));
  const used = p.SHIFT + nw;
  const inBits = p.IN_KIND === 2 ? 2 : p.IN_KIND === 1 ? p.WI : p.WI + 1;
  const mulBits = (lane: number) => (groups > 1 ? p.MW : Math.max(2, constantWidth(f.mul[lane], p.MW)[0] + 1));
  const dsps = (shape: DspShape) => {
    let n = 0;
    for (let lane = 0; lane < lanes; lane++) n += copies * multiplierDsps(inBits, mulBits(lane), Math.min(used, inBits + mulBits(lane)), false, shape);
    return n;
  };
  const [dsp, mac16] = [dsps(xc7Dsp), dsps(ice40Dsp)];
  const addBits = (n: number) => (n > a.pe ? (n - a.pe) * used : 0) + a.pe * used; // partial products, then + B
  const perEntry = groups > 1 ? Math.ceil(p.TW / 3) + 1 : Math.ceil(p.TW / 6) + 1; // x == e in LUT6s
  let tableColumns = 0;
  if (groups > 1) {
    const fields = [p.MW, p.BW, p.TW, p.TW, ...Array.from({ length: p.EXC }, () => [p.TW, nw]).flat()];
    for (let lane = 0; lane < lanes; lane++) {
      const words = Array.from({ length: groups }, (_, g) => {
        const c = g * a.pe + lane;
        const e = f.exceptions[c];
        const vals = [f.mul[c], f.bias[c], f.first[c], f.last[c], ...Array.from({ length: p.EXC }, (_, k) => (k < e.length ? [e[k].acc, e[k].n] : [f.last[c], 0])).flat()];
        let w = 0n;
        let at = 0n;
        vals.forEach((v, i) => {
          w |= BigInt.asUintN(fields[i], BigInt(v)) << at;
          at += BigInt(fields[i]);
        });
        return w;
      });
      const width = fields.reduce((s, x) => s + x, 0);
      tableColumns += romLogic(groups, width, (g, col) => Number((words[g] >> BigInt(col)) & 1n)).lut;
    }
  }
  const lut: Record<string, number> = {
    rqAddBits: addBits(dsp),
    rqGuardBits: a.pe * 2 * (groups > 1 ? p.TW : Math.ceil(p.TW / 2)),
    rqExcLuts: a.pe * p.EXC * (perEntry + nw),
    rqTableColumns: tableColumns,
    rqOutMapBits: p.OUT_KIND === 2 || p.OUT_BIAS !== 0 || p.OUT_SCALE !== 1 ? a.pe * p.OUT_W : 0,
    control: log2(groups),
  };
  return {
    lut,
    ice40Lut: { rqAddBits: addBits(mac16) },
    ff: { outBits: a.pe * p.OUT_W, control: log2(groups) + 2 },
    dsp,
    mac16,
    memories: [],
  };
}
