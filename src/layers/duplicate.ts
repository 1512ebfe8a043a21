// Stream duplication (FINN DuplicateStreams): one stream to two identical ones, for branches such as
// the bypass of a residual block (… → Duplicate → [branch, bypass] → AddStreams). Codegen wires
// every stream point to point, so fan-out is always this explicit layer. `pe` elements per beat;
// one beat per cycle when both consumers take it: elems/pe cycles per inference.
import { bitWidth } from '../ir/datatype.ts';
import { defineLayer, dtype, executeOf, int, mustDivide, registerStage, sameElement, type Kernel } from './define.ts';
import { duplicateCost } from './cost/duplicate.ts';

/** Both outputs are the input (kernels never write their inputs). */
const duplicateKernel = (): Kernel => ([x]) => [x, x];

export default defineLayer({
  kind: 'Duplicate',
  attrs: { elems: int({ min: 1 }), pe: int({ min: 1, default: 1 }), qtype: dtype() },
  consts: () => ({}),
  checkFolding: (a) => mustDivide('pe', a.elems, a.pe),
  streams: (a) => {
    const port = { qtype: a.qtype, elems: a.elems, fold: a.pe };
    return { in: [port], out: [port, port] };
  },
  execute: executeOf(duplicateKernel),
  kernel: duplicateKernel,
  cycles: (a) => a.elems / a.pe,
  timing: (_a, first, last) => [first + 1, last + 1], // one register stage per output
  schedule: (_a, [arrivals]) => {
    const out = registerStage(arrivals);
    return { out: [out, out] };
  },
  buffering: { need: sameElement, passesStalls: true },
  cost: (_a, _consts, p) => duplicateCost(p),
  rtl: {
    module: 'duplicate',
    files: ['duplicate/duplicate.v'],
    params: (a) => ({ W: a.pe * bitWidth(a.qtype) }),
  },
});
