// WidthConverter sim matrix: widening, narrowing, non-multiple ratios, 1-bit elements.
import { describe, it } from 'vitest';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

function dwcCase(label: string, elems: number, inFold: number, outFold: number, qtype: string): LayerCase {
  return { label, kind: 'WidthConverter', attrs: { elems, inFold, outFold, qtype }, inType: qtype, inElems: elems, outType: qtype, outElems: elems };
}

const cases: LayerCase[] = [
  dwcCase('int5_12_3to4', 12, 3, 4, 'INT5'),
  dwcCase('uint8_8_4to1', 8, 4, 1, 'UINT8'),
  dwcCase('int3_12_1to6', 12, 1, 6, 'INT3'),
  dwcCase('bipolar_12_6to4', 12, 6, 4, 'BIPOLAR'),
];

describe.skipIf(!haveVerilator)('WidthConverter RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectExact(await runLayerCase(c, 500 + i));
  });
});
