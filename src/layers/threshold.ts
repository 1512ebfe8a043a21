// Multi-threshold activation (FINN Thresholding): per channel c = (element index mod channels),
// y = outBias + outScale · #{ i : x ≥ T[c][i] } with T[c] ascending. PE elements per cycle.
// Two forms of the same function: 'parallel' (hw/threshold/threshold.v: STEPS comparators per lane,
// one register stage) and 'search' (hw/threshold/threshold_search.v: a pipelined binary search,
// searchStages(steps) comparators per lane reading per-stage tables, searchStages + 1 register
// stages) and 'requant' (hw/threshold/threshold_requant.v: a fixed-point requantization plus a short
// exception list, for nearly evenly spaced thresholds, common/threshold-requant.ts; one register stage).
// src/dataflow/forms.ts picks the cheapest unless the folding JSON names one ("impl").
import { allows, bitWidth, qtypeName } from '../ir/datatype.ts';
import { codeKind, defineLayer, dtype, elementwiseBuffering, executeOf, int, mustDivide, oneOf, packHex, packVector, registerStage, signedBits, type Kernel } from './define.ts';
import { thresholdCost } from './cost/threshold.ts';
import { clampedThresholds, searchStages, searchTable } from './common/threshold-search.ts';
import { requantForm, type RequantForm } from './common/threshold-requant.ts';

export { clampedThresholds, searchStages, searchTable };

/** Threshold tables bigger than this many bits become a ROM instead of a parameter. */
export const ROM_ABOVE_BITS = 16384;

export const THRESHOLD_IMPLS = ['parallel', 'search', 'requant'] as const;
export type ThresholdImpl = (typeof THRESHOLD_IMPLS)[number];

/** Register stages from input to output: the parallel form's one, the search's stages and output register. */
const delayOf = (a: { impl: ThresholdImpl; steps: number }): number => (a.impl === 'search' ? searchStages(a.steps) + 1 : 1);

/**
 * n = #{ i : x ≥ T[c][i] } found by binary search (each channel's thresholds are ascending, see
 * `check`): the first index whose threshold exceeds x, log2(steps) comparisons instead of steps.
 */
function thresholdKernel(a: { channels: number; steps: number; outBias: number; outScale: number }, { thresholds }: Record<string, number[]>): Kernel {
  const { channels, steps, outBias, outScale } = a;
  const t = Float64Array.from(thresholds);
  return ([x]) => {
    const y = new Float64Array(x.length);
    for (let e = 0, c = 0; e < x.length; e++, c = c + 1 === channels ? 0 : c + 1) {
      const v = x[e];
      let lo = c * steps;
      let hi = lo + steps;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (v >= t[mid]) lo = mid + 1;
        else hi = mid;
      }
      y[e] = outBias + outScale * (lo - c * steps);
    }
    return [y];
  };
}

export default defineLayer({
  kind: 'Threshold',
  attrs: {
    elems: int({ min: 1 }),
    channels: int({ min: 1 }),
    steps: int({ min: 1 }),
    pe: int({ min: 1, default: 1 }),
    inType: dtype(),
    outType: dtype(),
    outBias: int({ default: 0 }),
    outScale: int({ default: 1 }),
    impl: oneOf(THRESHOLD_IMPLS, 'parallel'),
  },
  consts: (a) => ({ thresholds: a.channels * a.steps }),
  check: (a, { thresholds }) => {
    if (a.elems % a.channels !== 0) return `channels must divide ${a.elems}, not ${a.channels}`;
    for (let c = 0; c < a.channels; c++) {
      for (let i = 1; i < a.steps; i++) {
        if (thresholds[c * a.steps + i] < thresholds[c * a.steps + i - 1]) return `thresholds of channel ${c} must be ascending`;
      }
    }
    if (a.impl === 'requant') {
      const f = requantForm(a.inType, a.channels, a.steps, thresholds);
      if (typeof f === 'string') return `impl 'requant' needs thresholds a requantization matches up to a few exceptions: ${f}`;
    }
    for (let n = 0; n <= a.steps; n++) {
      const v = a.outBias + a.outScale * n;
      if (!allows(a.outType, v)) return `outType must hold outBias + outScale·n for n in 0..${a.steps} (${v}), not ${qtypeName(a.outType)}`;
    }
    return undefined;
  },
  checkFolding: (a) =>
    mustDivide('pe', a.elems, a.pe) ??
    (a.channels > 1 ? mustDivide('pe', a.channels, a.pe) : undefined) ??
    // The search form's table files are numbered by lane in 3 digits (threshold_search.v).
    (a.impl === 'search' && a.channels > 1 && a.pe > 1000 ? `pe of the search form must be at most 1000, not ${a.pe}` : undefined),
  streams: (a) => ({
    in: [{ qtype: a.inType, elems: a.elems, fold: a.pe }],
    out: [{ qtype: a.outType, elems: a.elems, fold: a.pe }],
  }),
  execute: executeOf(thresholdKernel),
  kernel: thresholdKernel,
  cycles: (a) => a.elems / a.pe,
  timing: (a, first, last) => [first + delayOf(a), last + delayOf(a)],
  schedule: (a, [arrivals]) => ({ out: [registerStage(arrivals, delayOf(a))] }),
  // The search pipeline holds a beat per register stage.
  buffering: { ...elementwiseBuffering, ahead: (a, _port, inFold) => (delayOf(a) + 1) * inFold },
  cost: thresholdCost,
  forms: { impl: THRESHOLD_IMPLS },
  // 'requant' only when named: picked by cost it failed the zoo LeNet-5 and mlp_pruned90 int8 QDQ e2e
  // checks in the CI of 99a6862 (its sim matrix passes); it goes back into the choice once that is found.
  formsNamedOnly: { impl: ['requant'] },
  rtl: {
    module: 'threshold',
    files: ['common/out_reg.v', 'threshold/threshold.v'],
    variant: (a) =>
      a.impl === 'search' ? { module: 'threshold_search', files: ['common/out_reg.v', 'threshold/threshold_search.v'] }
      : a.impl === 'requant' ? { module: 'threshold_requant', files: ['common/out_reg.v', 'threshold/threshold_requant.v'] }
      : undefined,
    params: (a, { thresholds }, ctx) => {
      if (a.impl === 'requant') return requantParams(a, requantForm(a.inType, a.channels, a.steps, thresholds) as RequantForm);
      // Thresholds outside the input range behave like the range's ends ±1: clamp them so TW stays small.
      const { t, tw, hi: xhi } = clampedThresholds(a.inType, thresholds);
      const out = { OUT_W: bitWidth(a.outType), OUT_KIND: codeKind(a.outType), OUT_BIAS: a.outBias, OUT_SCALE: a.outScale };
      if (a.impl === 'search') {
        const stages = searchStages(a.steps);
        const groups = a.channels > 1 ? a.channels / a.pe : 1;
        const lanes = a.channels > 1 ? a.pe : 1;
        const suffix = (k: number, p: number) => `thresholds_s${String(k).padStart(2, '0')}_p${String(p).padStart(3, '0')}`;
        let prefix = '';
        for (let p = 0; p < lanes; p++) {
          for (let k = 0; k < stages; k++) {
            const words = searchTable(t, a.steps, groups, k, xhi + 1, (g) => (a.channels > 1 ? g * a.pe + p : 0));
            const path = ctx.memFile(suffix(k, p), words.map((w) => packHex([w], tw)).join('\n') + '\n');
            prefix = path.slice(0, path.length - `_${suffix(k, p).slice('thresholds_'.length)}.mem`.length);
          }
        }
        return {
          CHANNELS: a.channels,
          PE: a.pe,
          WI: bitWidth(a.inType),
          IN_KIND: codeKind(a.inType),
          TW: tw,
          STAGES: stages,
          TABLE_PREFIX: { verilog: `"${prefix}"` },
          ...out,
        };
      }
      // Big tables go to a $readmemh ROM, one word per channel group (Verilator caps constants at 64 Kbit).
      const perWord = (a.channels > 1 ? a.pe : 1) * a.steps;
      const useRom = t.length * tw > ROM_ABOVE_BITS;
      let table: { verilog: string } | { file: string };
      if (useRom) {
        const words: string[] = [];
        for (let i = 0; i < t.length; i += perWord) words.push(packHex(t.slice(i, i + perWord), tw));
        table = { file: ctx.memFile('thresholds', words.join('\n') + '\n') };
      } else table = packVector(t, tw);
      return {
        CHANNELS: a.channels,
        STEPS: a.steps,
        PE: a.pe,
        WI: bitWidth(a.inType),
        IN_KIND: codeKind(a.inType),
        TW: tw,
        USE_ROM: useRom ? 1 : 0,
        ...('file' in table ? { THRESHOLD_FILE: { verilog: `"${table.file}"` } } : { THRESHOLDS: table }),
        ...out,
      };
    },
  },
});

/** threshold_requant.v's parameters (see its header for the table layout). */
function requantParams(a: { channels: number; steps: number; pe: number; inType: Parameters<typeof bitWidth>[0]; outType: Parameters<typeof bitWidth>[0]; outBias: number; outScale: number }, f: RequantForm) {
  const nw = Math.ceil(Math.log2(a.steps + 1));
  const exc = Math.max(1, f.maxExceptions);
  const mw = signedBits(0, Math.max(...f.mul));
  const bw = signedBits(Math.min(...f.bias), Math.max(...f.bias));
  const accs: number[] = [];
  const ns: number[] = [];
  f.exceptions.forEach((list, c) => {
    for (let k = 0; k < exc; k++) {
      accs.push(k < list.length ? list[k].acc : f.last[c]); // unused: LAST, where the guard wins
      ns.push(k < list.length ? list[k].n : 0);
    }
  });
  return {
    CHANNELS: a.channels,
    STEPS: a.steps,
    PE: a.pe,
    WI: bitWidth(a.inType),
    IN_KIND: codeKind(a.inType),
    TW: f.tw,
    MW: mw,
    BW: bw,
    PW: Math.max(f.tw + mw, bw, f.shift + nw) + 1,
    SHIFT: f.shift,
    EXC: exc,
    MULS: packVector(f.mul, mw),
    BIASES: packVector(f.bias, bw),
    FIRSTS: packVector(f.first, f.tw),
    LASTS: packVector(f.last, f.tw),
    EXC_ACCS: packVector(accs, f.tw),
    EXC_NS: packVector(ns, nw),
    OUT_W: bitWidth(a.outType),
    OUT_KIND: codeKind(a.outType),
    OUT_BIAS: a.outBias,
    OUT_SCALE: a.outScale,
  };
}
