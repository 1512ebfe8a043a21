// Cost form of the MVU's multiplierless unrolled form (common/cmvm.ts, common/cmvm-rtl.ts): on
// 7-series one LUT (and its CARRY4 share) per adder bit; FFs are the input register, the pipeline
// copies between stages and the output register. No DSP, no memory.
import { bitWidth, type QType } from '../../ir/datatype.ts';
import type { CmvmGraph } from '../common/cmvm.ts';
import type { CostTerms } from './terms.ts';

export function mvuCmvmCost(g: CmvmGraph, a: { inType: QType; outType: QType }): CostTerms {
  return {
    lut: { cmvmAdderBits: g.adderBits },
    ff: { cmvmInputBits: g.cols * bitWidth(a.inType), cmvmPipelineBits: g.pipelineBits, cmvmOutputBits: g.rows * bitWidth(a.outType) },
    dsp: 0,
    mac16: 0,
    memories: [],
  };
}
