// Stream FIFO (hw/common/fifo.v, first-word fall-through): buffering on a branch, e.g. the bypass of
// a residual block must hold the beats that the other branch has not yet turned into output (FIFO
// sizing chooses `depth`). Values pass unchanged; `pe` elements per beat; one beat per cycle.
import { bitWidth } from '../ir/datatype.ts';
import { defineLayer, dtype, executeOf, int, mustDivide, passThrough, registerStage, sameElement } from './define.ts';
import { bufferCost } from './cost/fifo.ts';

export default defineLayer({
  kind: 'Fifo',
  attrs: { elems: int({ min: 1 }), pe: int({ min: 1, default: 1 }), depth: int({ min: 2, default: 2 }), qtype: dtype() },
  consts: () => ({}),
  check: (a) => ((a.depth & (a.depth - 1)) === 0 ? undefined : `depth must be a power of two, not ${a.depth}`),
  checkFolding: (a) => mustDivide('pe', a.elems, a.pe),
  streams: (a) => {
    const port = { qtype: a.qtype, elems: a.elems, fold: a.pe };
    return { in: [port], out: [port] };
  },
  execute: executeOf(passThrough),
  kernel: passThrough,
  cycles: (a) => a.elems / a.pe,
  timing: (_a, first, last) => [first + 1, last + 1], // a beat written in one cycle is readable the next
  schedule: (_a, [arrivals]) => ({ out: [registerStage(arrivals)] }),
  buffering: { need: sameElement, ahead: (a, _port, inFold) => a.depth * inFold, passesStalls: true, inOrder: true },
  cost: (_a, _consts, p) => bufferCost(p.DEPTH, p.W),
  rtl: {
    module: 'fifo',
    files: ['common/fifo.v'],
    params: (a) => ({ W: a.pe * bitWidth(a.qtype), DEPTH: a.depth }),
  },
});
