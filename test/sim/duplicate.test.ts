// Duplicate sim matrix: x → Duplicate → AddStreams (y = 2x, both copies consumed in the same cycle),
// and residual shapes with a Threshold branch and a bypass FIFO; types from bipolar to 8 bits, foldings.
import { describe, it } from 'vitest';
import { haveVerilator } from './layer-matrix.ts';
import { branchGraph, expectGraphExact, runGraph, type BranchSpec } from './branches.ts';

const cases: BranchSpec[] = [
  { label: 'double_int4_e12_pe3', elems: 12, pe: 3, qtype: 'INT4', branch: 'none', fifo: 0 },
  { label: 'double_bipolar_e8_pe8', elems: 8, pe: 8, qtype: 'BIPOLAR', branch: 'none', fifo: 0 },
  { label: 'threshold_uint8_e5_pe1_fifo2', elems: 5, pe: 1, qtype: 'UINT8', branch: 'threshold', fifo: 2 },
  { label: 'threshold_uint8_e16_pe4_fifo4', elems: 16, pe: 4, qtype: 'UINT8', branch: 'threshold', fifo: 4 },
  // Folded ResNet widths: a whole 16-channel pixel of INT8 per beat; an MVU branch at its pe.
  { label: 'threshold_int8_e64_pe16_fifo8', elems: 64, pe: 16, qtype: 'INT8', branch: 'threshold', fifo: 8 },
  { label: 'mvu_int8_e16_pe8_fifo16', elems: 16, pe: 8, qtype: 'INT8', branch: 'mvu', fifo: 16, mvuPe: 8, simd: 8 },
];

describe.skipIf(!haveVerilator)('Duplicate RTL == reference, cycles == model', () => {
  it.each(cases.map((c, i) => [c.label, c, i] as const))('%s', async (_label, c, i) => {
    expectGraphExact(await runGraph(branchGraph(c, 1000 + i), 1100 + i));
  });
});
