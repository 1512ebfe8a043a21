// SlidingWindow sim matrix: kernels 1/2/3/5 (square and not), strides 1/2, dilation, odd and
// non-square images, bit widths (bipolar to 16 bits), channel folding from serial to all channels per
// beat, whole windows per beat; input-bound (1×1 stride 2) and output-bound (big kernels) cases.
import { windowOutput } from '../../src/layers/sliding-window.ts';
import { layerMatrix, type LayerCase } from './layer-matrix.ts';

interface Geometry { ih: number; iw: number; channels: number; kh: number; kw: number; sh?: number; sw?: number; dh?: number; dw?: number; pe: number; taps?: number }

function swgCase(label: string, g: Geometry, qtype: string): LayerCase {
  const attrs = { sh: 1, sw: 1, dh: 1, dw: 1, taps: 1, ...g, qtype };
  const [oh, ow] = windowOutput(attrs);
  return {
    label,
    kind: 'SlidingWindow',
    attrs,
    inType: qtype,
    inElems: g.ih * g.iw * g.channels,
    outType: qtype,
    outElems: oh * ow * g.kh * g.kw * g.channels,
  };
}

const cases: LayerCase[] = [
  swgCase('k3_s1_5x7_c3_pe1_int4', { ih: 5, iw: 7, channels: 3, kh: 3, kw: 3, pe: 1 }, 'INT4'),
  swgCase('k3_s2_9x9_c4_pe2_uint8', { ih: 9, iw: 9, channels: 4, kh: 3, kw: 3, sh: 2, sw: 2, pe: 2 }, 'UINT8'),
  swgCase('k5_s1_7x6_c2_pe2_int2', { ih: 7, iw: 6, channels: 2, kh: 5, kw: 5, pe: 2 }, 'INT2'),
  swgCase('k5_s2_11x9_c1_pe1_uint3', { ih: 11, iw: 9, channels: 1, kh: 5, kw: 5, sh: 2, sw: 2, pe: 1 }, 'UINT3'),
  swgCase('k1_s1_5x5_c4_pe4_bipolar', { ih: 5, iw: 5, channels: 4, kh: 1, kw: 1, pe: 4 }, 'BIPOLAR'),
  swgCase('k1_s2_7x7_c2_pe1_int3', { ih: 7, iw: 7, channels: 2, kh: 1, kw: 1, sh: 2, sw: 2, pe: 1 }, 'INT3'),
  swgCase('k3_d2_9x8_c2_pe1_int8', { ih: 9, iw: 8, channels: 2, kh: 3, kw: 3, dh: 2, dw: 2, pe: 1 }, 'INT8'),
  swgCase('k2_s2_7x6_c3_pe3_uint4', { ih: 7, iw: 6, channels: 3, kh: 2, kw: 2, sh: 2, sw: 2, pe: 3 }, 'UINT4'),
  swgCase('k3x1_s2x1_7x5_c4_pe2_int16', { ih: 7, iw: 5, channels: 4, kh: 3, kw: 1, sh: 2, sw: 1, pe: 2 }, 'INT16'),
  swgCase('k3_s1_3x3_c6_pe3_int5_one_window', { ih: 3, iw: 3, channels: 6, kh: 3, kw: 3, pe: 3 }, 'INT5'),
  // Realistic sizes: LeNet-5 conv1 (28×28, 5×5), a CIFAR-style 3×3 stride-2 layer, a 2×2 pool.
  swgCase('lenet_k5_28x28_c1_pe1_uint8', { ih: 28, iw: 28, channels: 1, kh: 5, kw: 5, pe: 1 }, 'UINT8'),
  swgCase('k3_s2_16x16_c8_pe4_int2', { ih: 16, iw: 16, channels: 8, kh: 3, kw: 3, sh: 2, sw: 2, pe: 4 }, 'INT2'),
  // Parallel window (taps = kh·kw): a whole window per beat.
  swgCase('window_k3_6x7_c2_int4', { ih: 6, iw: 7, channels: 2, kh: 3, kw: 3, pe: 2, taps: 9 }, 'INT4'),
  swgCase('window_k3_s2_d2_9x9_c3_bipolar', { ih: 9, iw: 9, channels: 3, kh: 3, kw: 3, sh: 2, sw: 2, dh: 2, dw: 2, pe: 3, taps: 9 }, 'BIPOLAR'),
  swgCase('window_lenet_k5_28x28_c1_uint8', { ih: 28, iw: 28, channels: 1, kh: 5, kw: 5, pe: 1, taps: 25 }, 'UINT8'),
  swgCase('pool_k2_s2_24x24_c6_pe6_uint4', { ih: 24, iw: 24, channels: 6, kh: 2, kw: 2, sh: 2, sw: 2, pe: 6 }, 'UINT4'),
];

layerMatrix('SlidingWindow', cases, 400, {
  n: 12,
  cycles: (c) => {
    const a = c.attrs as Required<Geometry>;
    const [oh, ow] = windowOutput(a);
    return (Math.max(a.ih * a.iw, (oh * ow * a.kh * a.kw) / a.taps) * a.channels) / a.pe;
  },
});
