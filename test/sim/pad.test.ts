// Pad sim matrix: symmetric and asymmetric pads (including none on some sides), odd image sizes,
// non-zero pad values (zero points, negative for signed types), bit widths, channel folding.
import { layerMatrix, type LayerCase } from './layer-matrix.ts';

interface PadGeometry { ih: number; iw: number; channels: number; top: number; bottom: number; left: number; right: number; pe: number; value?: number }

function padCase(label: string, g: PadGeometry, qtype: string): LayerCase {
  const attrs = { value: 0, ...g, qtype };
  return {
    label,
    kind: 'Pad',
    attrs,
    inType: qtype,
    inElems: g.ih * g.iw * g.channels,
    outType: qtype,
    outElems: (g.top + g.ih + g.bottom) * (g.left + g.iw + g.right) * g.channels,
  };
}

const cases: LayerCase[] = [
  padCase('p1_5x5_c3_pe1_int4', { ih: 5, iw: 5, channels: 3, top: 1, bottom: 1, left: 1, right: 1, pe: 1 }, 'INT4'),
  padCase('p2_7x6_c4_pe2_uint8_zp128', { ih: 7, iw: 6, channels: 4, top: 2, bottom: 2, left: 2, right: 2, pe: 2, value: 128 }, 'UINT8'),
  padCase('asym_t0b1l0r1_6x6_c2_pe2_int3_neg', { ih: 6, iw: 6, channels: 2, top: 0, bottom: 1, left: 0, right: 1, pe: 2, value: -3 }, 'INT3'),
  padCase('asym_t2b0l1r3_3x9_c1_pe1_bipolar', { ih: 3, iw: 9, channels: 1, top: 2, bottom: 0, left: 1, right: 3, pe: 1, value: -1 }, 'BIPOLAR'),
  padCase('none_4x3_c6_pe3_int16', { ih: 4, iw: 3, channels: 6, top: 0, bottom: 0, left: 0, right: 0, pe: 3 }, 'INT16'),
  padCase('p3_1x1_c4_pe4_uint2', { ih: 1, iw: 1, channels: 4, top: 3, bottom: 3, left: 3, right: 3, pe: 4, value: 1 }, 'UINT2'),
];

layerMatrix('Pad', cases, 500, { n: 12, cycles: (c) => c.outElems / (c.attrs.pe as number) });
