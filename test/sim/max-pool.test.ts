// MaxPool sim matrix (on window streams, as a SlidingWindow delivers them): window sizes 1/4/9/25,
// signed, unsigned, bipolar and ternary codes, channel folding from serial to all channels per beat.
import { parseQType, range } from '../../src/ir/datatype.ts';
import { layerMatrix, windowReduceCycles, type LayerCase } from './layer-matrix.ts';

function maxPoolCase(label: string, pixels: number, window: number, channels: number, pe: number, qtype: string): LayerCase {
  const [lo, hi] = range(parseQType(qtype));
  // Extremes: all low (max = lo), all high, and only the last tap high.
  const n = pixels * window * channels;
  const extra = [new Array(n).fill(lo), new Array(n).fill(hi), Array.from({ length: n }, (_, i) => (Math.floor(i / channels) % window === window - 1 ? hi : lo))];
  return { label, kind: 'MaxPool', attrs: { pixels, window, channels, pe, qtype }, inType: qtype, inElems: n, outType: qtype, outElems: pixels * channels, extra };
}

const cases: LayerCase[] = [
  maxPoolCase('k2x2_p9_c3_pe1_int4', 9, 4, 3, 1, 'INT4'),
  maxPoolCase('k3x3_p4_c4_pe2_uint8', 4, 9, 4, 2, 'UINT8'),
  maxPoolCase('k5x5_p2_c2_pe2_int8', 2, 25, 2, 2, 'INT8'),
  maxPoolCase('k1_p5_c4_pe4_bipolar', 5, 1, 4, 4, 'BIPOLAR'),
  maxPoolCase('k2x2_p6_c6_pe3_ternary', 6, 4, 6, 3, 'TERNARY'),
  maxPoolCase('k3x3_p3_c1_pe1_bipolar', 3, 9, 1, 1, 'BIPOLAR'),
];

layerMatrix('MaxPool', cases, 600, { n: 12, cycles: windowReduceCycles });
