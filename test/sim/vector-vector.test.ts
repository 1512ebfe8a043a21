// VectorVector (depthwise conv) sim matrix: 1×1/3×3/5×5 windows, weight types (signed/unsigned
// multipliers, bipolar and ternary add/sub, sparse), bipolar inputs, channel foldings, a ROM-sized
// weight table, and inputs reaching channel 0's extreme sums.
import { parseQType, qtypeName, range } from '../../src/ir/datatype.ts';
import { mvuOutType } from '../../src/layers/mvu.ts';
import { rng } from '../unit/layers-helpers.ts';
import { layerMatrix, randomValues, windowReduceCycles, type LayerCase } from './layer-matrix.ts';

function vvCase(label: string, pixels: number, window: number, channels: number, pe: number, inType: string, weightType: string, seed: number, zeros = 0): LayerCase {
  const r = rng(seed);
  const weights = randomValues(weightType, channels * window, r).map((w) => (r() < zeros ? 0 : w));
  const outType = qtypeName(mvuOutType(channels, window, parseQType(inType), weights));
  const [lo, hi] = range(parseQType(inType));
  const n = pixels * window * channels;
  // Channel 0 at its largest and smallest sum; everything else random-ish at the ends.
  const ch0 = (sign: number) => Array.from({ length: n }, (_, i) => {
    const c = i % channels;
    const k = Math.floor(i / channels) % window;
    const w = weights[c * window + k];
    return (w >= 0) === (sign > 0) ? hi : lo;
  });
  return {
    label, kind: 'VectorVector', attrs: { pixels, window, channels, pe, inType, weightType, outType }, consts: { weights },
    inType, inElems: n, outType, outElems: pixels * channels, extra: [ch0(1), ch0(-1)],
  };
}

const cases: LayerCase[] = [
  vvCase('k3x3_p4_c4_pe1_int4w_uint4x', 4, 9, 4, 1, 'UINT4', 'INT4', 1),
  vvCase('k3x3_p3_c6_pe3_int8w_int8x', 3, 9, 6, 3, 'INT8', 'INT8', 2),
  vvCase('k5x5_p2_c2_pe2_ternary_sparse', 2, 25, 2, 2, 'INT3', 'TERNARY', 3, 0.3),
  vvCase('k1_p5_c8_pe8_bipolarw_uint2x', 5, 1, 8, 8, 'UINT2', 'BIPOLAR', 4),
  vvCase('k3x3_p2_c4_pe2_int2w_bipolarx', 2, 9, 4, 2, 'BIPOLAR', 'INT2', 5),
  vvCase('k3x3_p2_c4_pe4_bipolar_bipolar', 2, 9, 4, 4, 'BIPOLAR', 'BIPOLAR', 6),
  vvCase('k5x5_p1_c96_pe8_uint8w_int8x_rom', 1, 25, 96, 8, 'INT8', 'UINT8', 7),
];

layerMatrix('VectorVector', cases, 800, { n: 12, cycles: windowReduceCycles });
