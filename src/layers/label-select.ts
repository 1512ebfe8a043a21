// LabelSelect (FINN): outputs the indices of the k largest of n inputs, largest first, ties to the
// lowest index. Takes PE inputs per cycle, emits one index per beat.
import { bitWidth, qtypeName, range } from '../ir/datatype.ts';
import { codeKind, defineLayer, dtype, int, mustDivide } from './define.ts';
import { labelSelectCost } from './cost/label-select.ts';

export default defineLayer({
  kind: 'LabelSelect',
  attrs: {
    n: int({ min: 1 }),
    k: int({ min: 1, default: 1 }),
    pe: int({ min: 1, default: 1 }),
    inType: dtype(),
    outType: dtype(),
  },
  consts: () => ({}),
  check: (a) => {
    if (a.k > a.n) return `k must be at most n (${a.n}), not ${a.k}`;
    if (a.outType.kind !== 'INT' || a.outType.signed || range(a.outType)[1] < a.n - 1) {
      return `outType must be a UINT holding ${a.n - 1}, not ${qtypeName(a.outType)}`;
    }
    return undefined;
  },
  checkFolding: (a) => mustDivide('pe', a.n, a.pe),
  streams: (a) => ({
    in: [{ qtype: a.inType, elems: a.n, fold: a.pe }],
    out: [{ qtype: a.outType, elems: a.k, fold: 1 }],
  }),
  execute: (a, [x]) => {
    const idx = x.map((_, i) => i);
    idx.sort((i, j) => x[j] - x[i] || i - j);
    return [idx.slice(0, a.k)];
  },
  // Input beats and output beats overlap (the result is copied to an output buffer).
  cycles: (a) => Math.max(a.n / a.pe, a.k),
  timing: (a, _first, last) => [last + 1, last + a.k], // the list moves to the output buffer after the last beat
  cost: (a, _consts, p) => labelSelectCost(a, p),
  rtl: {
    module: 'label_select',
    files: ['common/out_reg.v', 'label_select/label_select.v'],
    params: (a) => ({
      N: a.n,
      K: a.k,
      PE: a.pe,
      WI: bitWidth(a.inType),
      IN_KIND: codeKind(a.inType),
      OUT_W: bitWidth(a.outType),
    }),
  },
});
