// Multi-threshold activation (FINN Thresholding): per channel c = (element index mod channels),
// y = outBias + outScale · #{ i : x ≥ T[c][i] } with T[c] ascending. PE elements per cycle.
import { allows, bitWidth, qtypeName, range } from '../ir/datatype.ts';
import { codeKind, defineLayer, dtype, elementwiseBuffering, int, mustDivide, packHex, packVector, signedBits, registerStage } from './define.ts';

/** Threshold tables bigger than this many bits become a ROM instead of a parameter. */
export const ROM_ABOVE_BITS = 16384;

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
  },
  consts: (a) => ({ thresholds: a.channels * a.steps }),
  check: (a, { thresholds }) => {
    if (a.elems % a.channels !== 0) return `channels must divide ${a.elems}, not ${a.channels}`;
    for (let c = 0; c < a.channels; c++) {
      for (let i = 1; i < a.steps; i++) {
        if (thresholds[c * a.steps + i] < thresholds[c * a.steps + i - 1]) return `thresholds of channel ${c} must be ascending`;
      }
    }
    for (let n = 0; n <= a.steps; n++) {
      const v = a.outBias + a.outScale * n;
      if (!allows(a.outType, v)) return `outType must hold outBias + outScale·n for n in 0..${a.steps} (${v}), not ${qtypeName(a.outType)}`;
    }
    return undefined;
  },
  checkFolding: (a) => mustDivide('pe', a.elems, a.pe) ?? (a.channels > 1 ? mustDivide('pe', a.channels, a.pe) : undefined),
  streams: (a) => ({
    in: [{ qtype: a.inType, elems: a.elems, fold: a.pe }],
    out: [{ qtype: a.outType, elems: a.elems, fold: a.pe }],
  }),
  execute: (a, [x], { thresholds }) => [
    x.map((v, e) => {
      const c = e % a.channels;
      let n = 0;
      for (let i = 0; i < a.steps; i++) if (v >= thresholds[c * a.steps + i]) n++;
      return a.outBias + a.outScale * n;
    }),
  ],
  cycles: (a) => a.elems / a.pe,
  timing: (_a, first, last) => [first + 1, last + 1], // one register stage
  schedule: (_a, [arrivals]) => ({ out: [registerStage(arrivals)] }),
  buffering: elementwiseBuffering,
  rtl: {
    module: 'threshold',
    files: ['common/out_reg.v', 'threshold/threshold.v'],
    params: (a, { thresholds }, ctx) => {
      const [xlo, xhi] = range(a.inType);
      // Thresholds outside the input range behave like the range's ends ±1: clamp them so TW stays small.
      const t = thresholds.map((v) => Math.min(Math.max(v, xlo), xhi + 1));
      const tw = signedBits(Math.min(...t, xlo), Math.max(...t, xhi + 1));
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
        OUT_W: bitWidth(a.outType),
        OUT_KIND: codeKind(a.outType),
        OUT_BIAS: a.outBias,
        OUT_SCALE: a.outScale,
      };
    },
  },
});


