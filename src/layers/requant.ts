// Fixed-point requantization: per channel c = (element index mod channels),
// y = clamp(R((x·M[c] + B[c]) / 2^shift), lo(outType), hi(outType)), R = floor (round: 'floor', the
// default) or round half to even (round: 'half-even'). PE elements per cycle.
import { bitWidth, qtypeName, range, type QType } from '../ir/datatype.ts';
import { requantValue, type RequantRound } from './common/requant-value.ts';
import { codeKind, defineLayer, dtype, elementwiseBuffering, executeOf, int, mustDivide, oneOf, packVector, signedBits, registerStage, type Kernel } from './define.ts';
import { requantCost } from './cost/requant.ts';

/** Range of x·M + B over the input range and every channel (+ 2^(shift−1), the half-even rounding's add). */
function productRange(inType: Parameters<typeof range>[0], mul: readonly number[], bias: readonly number[], halfEven: number): [number, number] {
  const [xlo, xhi] = range(inType);
  let lo = 0;
  let hi = 0;
  mul.forEach((m, c) => {
    lo = Math.min(lo, Math.min(m * xlo, m * xhi) + bias[c]);
    hi = Math.max(hi, Math.max(m * xlo, m * xhi) + bias[c] + halfEven);
  });
  return [lo, hi];
}

const halfEvenAdd = (a: { round: string; shift: number }) => (a.round === 'half-even' && a.shift > 0 ? 2 ** (a.shift - 1) : 0);

function requantKernel(a: { channels: number; shift: number; outType: QType; round: RequantRound }, { mul, bias }: Record<string, number[]>): Kernel {
  const [lo, hi] = range(a.outType);
  return ([x]) => {
    const y = new Float64Array(x.length);
    for (let e = 0, c = 0; e < x.length; e++, c = c + 1 === a.channels ? 0 : c + 1) y[e] = requantValue(x[e], mul[c], bias[c], a.shift, lo, hi, a.round);
    return [y];
  };
}

export default defineLayer({
  kind: 'Requant',
  attrs: {
    elems: int({ min: 1 }),
    channels: int({ min: 1 }),
    pe: int({ min: 1, default: 1 }),
    shift: int({ min: 0 }),
    round: oneOf(['floor', 'half-even'] as const, 'floor'),
    inType: dtype(),
    outType: dtype(),
  },
  consts: (a) => ({ mul: a.channels, bias: a.channels }),
  check: (a, { mul, bias }) => {
    if (a.elems % a.channels !== 0) return `channels must divide ${a.elems}, not ${a.channels}`;
    if (a.outType.kind !== 'INT' || a.outType.bits > 32) return `outType must be INTn or UINTn with n ≤ 32, not ${qtypeName(a.outType)}`;
    const [lo, hi] = productRange(a.inType, mul, bias, halfEvenAdd(a));
    if (Math.max(-lo, hi) >= 2 ** 53) return `x·mul + bias must stay below 2^53 in magnitude, not [${lo}, ${hi}]`;
    if (a.shift > 62) return `shift must be at most 62, not ${a.shift}`;
    return undefined;
  },
  checkFolding: (a) => mustDivide('pe', a.elems, a.pe) ?? (a.channels > 1 ? mustDivide('pe', a.channels, a.pe) : undefined),
  streams: (a) => ({
    in: [{ qtype: a.inType, elems: a.elems, fold: a.pe }],
    out: [{ qtype: a.outType, elems: a.elems, fold: a.pe }],
  }),
  execute: executeOf(requantKernel),
  kernel: requantKernel,
  cycles: (a) => a.elems / a.pe,
  timing: (_a, first, last) => [first + 1, last + 1], // one register stage
  schedule: (_a, [arrivals]) => ({ out: [registerStage(arrivals)] }),
  buffering: elementwiseBuffering,
  cost: requantCost,
  rtl: {
    module: 'requant',
    files: ['common/out_reg.v', 'requant/requant.v'],
    params: (a, { mul, bias }) => {
      const halfEven = a.round === 'half-even' && a.shift > 0;
      const [plo, phi] = productRange(a.inType, mul, bias, halfEvenAdd(a));
      const mw = signedBits(Math.min(...mul), Math.max(...mul));
      const bw = signedBits(Math.min(...bias), Math.max(...bias));
      const [olo, ohi] = range(a.outType);
      // Half-even reads bit SHIFT of the sum and adds 2^(SHIFT−1) − 1: PW ≥ SHIFT + 2 keeps both in range.
      const pw = Math.max(signedBits(plo, phi), signedBits(olo, ohi), bitWidth(a.inType) + 1, mw, bw, halfEven ? a.shift + 1 : 0) + 1;
      return {
        CHANNELS: a.channels,
        PE: a.pe,
        WI: bitWidth(a.inType),
        IN_KIND: codeKind(a.inType),
        MW: mw,
        BW: bw,
        PW: pw,
        SHIFT: a.shift,
        // Only when rounding half to even (floor designs keep their exact parameter list).
        ...(halfEven ? { ROUND: 1 } : {}),
        MULS: packVector(mul, mw),
        BIASES: packVector(bias, bw),
        OUT_W: bitWidth(a.outType),
        OUT_LO: packVector([olo], pw),
        OUT_HI: packVector([ohi], pw),
      };
    },
  },
});
