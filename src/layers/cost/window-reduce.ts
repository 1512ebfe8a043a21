// Cost of hw/window_reduce (MaxPool MODE 0, AvgPool MODE 1, VectorVector MODE 2).
import { constantWidth, ice40Dsp, multiplierDsps, xc7Dsp, type DspShape } from './dsp.ts';
import type { QType } from '../../ir/datatype.ts';
import { encode } from '../define.ts';
import { romLogic, type Memory } from './memory.ts';
import { csdDigits } from './mvu.ts';
import { log2, type CostTerms, type Params } from './terms.ts';

interface WindowReduceAttrs { pixels: number; window: number; channels: number; pe: number }

/**
 * What memory_libmap (Yosys 0.23) adds to the cost of putting the partial-result memory into a RAM
 * primitive: the memory is written at cf_q and read at cf_q, whose register Yosys folds into a
 * synchronous read port, so the RAM needs an emulated read-during-write path. Measured, not derived:
 * on both families the cost comparison only fits the sweep with this extra (iCE40: 72-bit memories
 * stay in flip-flops, 80-bit ones go to an SB_RAM40_4K of cost 64; 7-series: 2 × 11 bits stay in
 * flip-flops, 2 × 16 bits go to LUTRAM).
 */
const RAM_EMULATION_COST = 8;

/**
 * The partial results (2^CFW words of PE·RW bits, CFW = max(1, ⌈log2 CF⌉)) as memory_libmap maps
 * them: flip-flops when their logic cost (1 per bit) is at most the RAM's (lutrams_xc5v.txt SDP
 * RAM32M: cost 8 with widthscale 7, i.e. 1 per 6-bit slice + 7/6 per bit; ice40/brams.txt
 * SB_RAM40_4K: 64 per 256 × 16 block), plus RAM_EMULATION_COST.
 */
function partsInRam(depth: number, width: number, family: 'xc7' | 'ice40'): boolean {
  const logic = depth * width;
  const ram = family === 'xc7'
    ? Math.ceil(width / 6) * Math.ceil(depth / 32) + (7 * width * Math.ceil(depth / 32)) / 6
    : 64 * Math.ceil(width / 16) * Math.ceil(depth / 256);
  return ram + RAM_EMULATION_COST < logic;
}

/**
 * hw/window_reduce, per lane: a compare and a WI-bit mux (max) or an ACC_W-bit add (sum) of this tap
 * into the channel's partial result; MODE 2 first forms the term like the MVU (add/sub for bipolar /
 * ternary weights, else a multiplier — a DSP when wide enough — against a weight that is a constant
 * (one word) or a lookup in the constant table by tap and channel fold).
 * The partial results: see partsInRam. With one tap (K = 1) every beat is the first; 7-series'
 * synthesis proves the tap counter constant and drops the partial results and their adders / compares,
 * iCE40's keeps them (measured: the compares' carries and 2^CFW words of flip-flops remain). With one
 * channel fold 7-series also proves the read address constant: one word, in flip-flops unless LUTRAM
 * is cheaper for the two declared words.
 */
export function windowReduceCost(a: WindowReduceAttrs, consts: Record<string, number[]>, p: Params): CostTerms {
  const cf = a.channels / a.pe;
  const words = a.window * cf;
  const rw = p.MODE === 0 ? p.WI : p.ACC_W;
  const lut: Record<string, number> = { control: log2(cf) + log2(a.window) + log2(words) };
  const ice40Lut: Record<string, number> = {};
  const ff: Record<string, number> = { outBits: a.pe * p.OUT_W, control: log2(cf) + log2(a.window) + (p.MODE === 2 ? log2(words) : 0) + 3 };
  let dsp = 0;
  let mac16 = 0;
  const taps = a.window > 1;
  // The tap's reduction into the held partial result (iCE40 keeps it with one tap too).
  const reduce = p.MODE === 0 ? { maxBits: 2 * a.pe * p.WI } : { sumBits: a.pe * p.ACC_W };
  if (taps) Object.assign(lut, reduce);
  else Object.assign(ice40Lut, reduce);
  if (p.MODE === 2) {
    const bipolarIn = p.IN_KIND === 2;
    const noMul = p.W_KIND === 2 || p.W_KIND === 3 || bipolarIn || p.WI === 1 || p.WW === 1;
    const aW = p.IN_KIND === 0 ? p.WI : p.ACC_W;
    if (!noMul) {
      // The multiplier, as cost/mvu.ts: a constant weight (one word) is trimmed, a variable one is not.
      const lane = (shape: DspShape, q: number) => {
        if (words > 1) {
          const bW = p.W_KIND === 0 ? p.WW : p.ACC_W;
          return multiplierDsps(aW, bW, Math.min(p.ACC_W, aW + bW), true, shape);
        }
        const [bW, tz] = constantWidth(consts.weights[q * a.window], p.ACC_W);
        return multiplierDsps(aW, bW, Math.min(p.ACC_W - tz, aW + bW), true, shape);
      };
      for (let q = 0; q < a.pe; q++) {
        dsp += lane(xc7Dsp, q);
        mac16 += lane(ice40Dsp, q);
      }
    }
    // The term's LUT features given how many of its multipliers the family's DSPs take (a product can
    // be a DSP48 on 7-series and LUTs on iCE40, whose SB_MAC16 needs an 11-bit product).
    const termFeatures = (dsps: number): Record<string, number> => {
      const f: Record<string, number> = {};
      if (!noMul && dsps > 0) f.dspGlue = dsps;
      else if (words > 1) {
        if (!noMul) {
          // With taps the whole product enters the ACC_W-bit running sum (out of context,
          // 16p4k8c UINT4 × UINT4, 2 lanes: 54 LUTs for the products with weights from a counter,
          // + 21 with the 8-column table: ~1.7 LUT per WI·WW bit, more than one-tap layers show);
          // with one tap only the product's OUT_W low bits are read (the result goes straight to
          // the output register), a truncated array of #{(i, j): i < WI, j < WW, i + j < OUT_W}
          // partial products. Separate features.
          if (taps) f.lutMulBits = a.pe * p.WI * p.WW;
          else {
            let pp = 0;
            for (let i = 0; i < p.WI; i++) pp += Math.max(0, Math.min(p.WW, p.OUT_W - i));
            f.lutMulOutBits = a.pe * pp;
          }
        }
        else f.addSubTermBits = a.pe * ((p.W_KIND === 2 || p.W_KIND === 3 ? p.WI : p.WW) + 1);
      } else {
        // One word (one tap, one channel fold): lane q's weight is the constant W[q]; its product is
        // a wire (±1 up to the sign, 2^k), a negation of the (WI + 1)-bit input for a negative weight,
        // and a shift-and-add with one adder per extra canonical-signed-digit digit (as cost/mvu.ts).
        f.negBits = 0;
        f.constMulBits = 0;
        for (let q = 0; q < a.pe; q++) {
          const w = bipolarIn ? 1 : consts.weights[q * a.window];
          if (w < 0) f.negBits += p.WI + 1;
          if (w !== 0 && !noMul) f.constMulBits += (csdDigits(w) - 1) * (p.WI + p.WW);
        }
      }
      return f;
    };
    Object.assign(lut, termFeatures(dsp));
    const ice40Term = termFeatures(mac16);
    for (const k of ['dspGlue', 'lutMulBits', 'lutMulOutBits', 'addSubTermBits', 'negBits', 'constMulBits']) if (k in lut && !(k in ice40Term)) ice40Term[k] = 0;
    Object.assign(ice40Lut, ice40Term);
    // The weight lookup WEIGHTS[addr·WORD +: WORD] (or a ROM read at addr_q) over a constant table:
    // logic per distinct bit column over the words (memory.ts romLogic, as the MVU's weight ROM).
    if (words > 1) {
      const wt = (a as { weightType?: QType }).weightType!;
      // Word k·CF + f, lane q: W[f·PE + q][k] (src/layers/vector-vector.ts weightParams).
      lut.tableColumns = romLogic(words, a.pe * p.WW, (word, col) => {
        const k = Math.floor(word / cf);
        const f = word % cf;
        const q = Math.floor(col / p.WW);
        return encode(wt, consts.weights[(f * a.pe + q) * a.window + k]) >> (col % p.WW);
      }).lut;
    }
  }

  const depth = 1 << log2(cf);
  const width = a.pe * rw;
  const memories: Memory[] = [];
  if (taps) {
    if (partsInRam(depth, width, 'xc7')) {
      memories.push({ depth, width, writable: true, asyncRead: true });
      // The emulated read-during-write path around the LUTRAM (as in EBR on iCE40): a mux per bit.
      lut.ramBypassBits = width;
    }
    else {
      ff.partBits = (cf === 1 ? 1 : depth) * width;
      // Reading one of several words held in flip-flops: a depth-way mux per bit.
      if (cf > 1) lut.partMuxBits = (depth - 1) * width;
    }
  }
  // iCE40: the 2^CFW words in flip-flops (memory.ts memFf4 / memLut4; asyncRead keeps them out of
  // EBR) or in EBR; counted there, not by the 7-series flip-flop features.
  // In flip-flops only the OUT_W low bits of each partial result survive (a sum's higher bits feed
  // nothing but themselves; measured: 8 × 9-bit words left 8 × 8 flip-flops), but memory_libmap
  // decides on the declared width.
  const ice40Memories: Memory[] = [partsInRam(depth, width, 'ice40')
    ? { depth, width, writable: true }
    : { depth, width: a.pe * Math.min(rw, p.OUT_W), writable: true, asyncRead: true }];
  if (lut.partMuxBits !== undefined) ice40Lut.partMuxBits = 0;
  // In EBR, the emulated read-during-write path: a data-wide bypass register and mux (cf. the FIFO's
  // blockReadBits).
  ice40Lut.ramBypassBits = partsInRam(depth, width, 'ice40') ? width : 0;
  const ice40Ff: Record<string, number> = ff.partBits !== undefined ? { partBits: 0 } : {};
  if (ice40Lut.ramBypassBits) ice40Ff.ramBypassBits = width;
  return { lut, ice40Lut, ff, ice40Ff, dsp, mac16, memories, ice40Memories };
}
