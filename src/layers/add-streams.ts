// Element-wise integer sum of two streams (FINN AddStreams), the join of a residual block:
// y[i] = a[i] + b[i], exact: outType must hold every sum of an aType and a bType value (scales of the
// two branches are aligned by streamlining before this point). `pe` elements per beat on all three
// streams; one beat per cycle: elems/pe cycles per inference.
import { bitWidth, qtypeName, range } from '../ir/datatype.ts';
import { codeKind, defineLayer, dtype, executeOf, int, mustDivide, registerStage, sameElement, type Kernel } from './define.ts';
import { addStreamsCost } from './cost/add-streams.ts';

const addKernel = (): Kernel => ([x, y]) => {
  const z = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) z[i] = x[i] + y[i];
  return [z];
};

export default defineLayer({
  kind: 'AddStreams',
  attrs: { elems: int({ min: 1 }), pe: int({ min: 1, default: 1 }), aType: dtype(), bType: dtype(), outType: dtype() },
  consts: () => ({}),
  check: (a) => {
    const [alo, ahi] = range(a.aType);
    const [blo, bhi] = range(a.bType);
    const [olo, ohi] = range(a.outType);
    if (a.outType.kind !== 'INT') return `outType must be INTn or UINTn, not ${qtypeName(a.outType)}`;
    if (alo + blo < olo || ahi + bhi > ohi) return `outType must hold the sum range [${alo + blo}, ${ahi + bhi}], not ${qtypeName(a.outType)}`;
    return undefined;
  },
  checkFolding: (a) => mustDivide('pe', a.elems, a.pe),
  streams: (a) => ({
    in: [
      { qtype: a.aType, elems: a.elems, fold: a.pe },
      { qtype: a.bType, elems: a.elems, fold: a.pe },
    ],
    out: [{ qtype: a.outType, elems: a.elems, fold: a.pe }],
  }),
  execute: executeOf(addKernel),
  kernel: addKernel,
  cycles: (a) => a.elems / a.pe,
  timing: (_a, first, last) => [first + 1, last + 1], // inputs' latest first / last beats; one register stage
  schedule: (_a, [a, b]) => ({ out: [registerStage(a.map((t, j) => Math.max(t, b[j])))] }),
  buffering: { need: sameElement, passesStalls: true },
  cost: (_a, _consts, p) => addStreamsCost(p),
  rtl: {
    module: 'add_streams',
    files: ['add_streams/add_streams.v'],
    params: (a) => ({
      PE: a.pe,
      WA: bitWidth(a.aType),
      A_KIND: codeKind(a.aType),
      WB: bitWidth(a.bType),
      B_KIND: codeKind(a.bType),
      OUT_W: bitWidth(a.outType),
    }),
  },
});
