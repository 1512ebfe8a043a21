// LabelSelect sim matrix: top-1 and top-k (k up to n, where output beats dominate the cycles),
// narrow types with many ties, signed/unsigned/bipolar inputs, PE from 1 to n.
import { describe, it } from 'vitest';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

function labelCase(label: string, n: number, k: number, pe: number, inType: string, outType: string): LayerCase {
  return { label, kind: 'LabelSelect', attrs: { n, k, pe, inType, outType }, inType, inElems: n, outType, outElems: k };
}

const cases: LayerCase[] = [
  labelCase('n10_k1_serial_int8', 10, 1, 1, 'INT8', 'UINT4'),
  labelCase('n12_k3_pe4_int3_ties', 12, 3, 4, 'INT3', 'UINT4'),
  labelCase('n6_k6_pe6_uint2_output_bound', 6, 6, 6, 'UINT2', 'UINT3'),
  labelCase('n16_k2_pe2_bipolar', 16, 2, 2, 'BIPOLAR', 'UINT4'),
];

describe.skipIf(!haveVerilator)('LabelSelect RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectExact(await runLayerCase(c, 400 + i));
  });
});
