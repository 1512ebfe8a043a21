// AvgPool (window sum) sim matrix: window sizes 1/4/9/25 and a GlobalAveragePool (pixels = 1,
// window = h·w on an odd 7×5 image stream), signed/unsigned/bipolar inputs, foldings, sums at
// the extremes of the output type.
import { parseQType, qtypeName, range, smallestIntFor } from '../../src/ir/datatype.ts';
import { layerMatrix, windowReduceCycles, type LayerCase } from './layer-matrix.ts';

function avgPoolCase(label: string, pixels: number, window: number, channels: number, pe: number, inType: string): LayerCase {
  const [lo, hi] = range(parseQType(inType));
  const outType = qtypeName(smallestIntFor(window * lo, window * hi));
  const n = pixels * window * channels;
  const extra = [new Array(n).fill(lo), new Array(n).fill(hi)];
  return { label, kind: 'AvgPool', attrs: { pixels, window, channels, pe, inType, outType }, inType, inElems: n, outType, outElems: pixels * channels, extra };
}

const cases: LayerCase[] = [
  avgPoolCase('k2x2_p9_c3_pe1_uint4', 9, 4, 3, 1, 'UINT4'),
  avgPoolCase('k3x3_p4_c4_pe4_int8', 4, 9, 4, 4, 'INT8'),
  avgPoolCase('k5x5_p2_c2_pe1_int3', 2, 25, 2, 1, 'INT3'),
  avgPoolCase('k1_p6_c2_pe2_bipolar', 6, 1, 2, 2, 'BIPOLAR'),
  avgPoolCase('global_7x5_c8_pe4_uint8', 1, 35, 8, 4, 'UINT8'),
  avgPoolCase('global_3x3_c3_pe3_bipolar', 1, 9, 3, 3, 'BIPOLAR'),
];

layerMatrix('AvgPool', cases, 700, { n: 12, cycles: windowReduceCycles });
