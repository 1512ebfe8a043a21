// Fifo sim matrix (one layer): depths 2..256, widths from one bipolar bit to 16 × INT8, foldings.
// Branch use (bypass of a residual block) is covered by duplicate/add-streams tests.
import { describe, it } from 'vitest';
import { expectExact, haveVerilator, runLayerCase, type LayerCase } from './layer-matrix.ts';

const fifoCase = (label: string, elems: number, pe: number, depth: number, qtype: string): LayerCase =>
  ({ label, kind: 'Fifo', attrs: { elems, pe, depth, qtype }, inType: qtype, inElems: elems, outType: qtype, outElems: elems });

const cases: LayerCase[] = [
  fifoCase('d2_bipolar_e7_pe1', 7, 1, 2, 'BIPOLAR'),
  fifoCase('d4_int4_e12_pe3', 12, 3, 4, 'INT4'),
  fifoCase('d16_int16_e9_pe3', 9, 3, 16, 'INT16'),
  // Folded bypass widths: 16 INT8 lanes; a deep FIFO holding several inferences.
  fifoCase('d8_int8_e64_pe16', 64, 16, 8, 'INT8'),
  fifoCase('d256_uint4_e128_pe4', 128, 4, 256, 'UINT4'),
];

describe.skipIf(!haveVerilator)('Fifo RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectExact(await runLayerCase(c, 1500 + i, 12));
  });
});
