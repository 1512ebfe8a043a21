// Shared helpers for the layer unit tests: a seeded RNG and a one-layer dataflow graph builder.
import type { DataflowGraph, Layer } from '../../src/ir/dataflow.ts';
import { parseQType } from '../../src/ir/datatype.ts';
import { mulberry32 as rng } from '../../src/util/random.ts';

/** The seeded generator the tests share (src/util/random.ts). */
export { rng };

export const randInt = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** A graph of exactly one layer with input stream 'x' and output stream 'y'. */
export function oneLayer(layer: Omit<Layer, 'inputs' | 'outputs' | 'origin' | 'name'>, inType: string, inElems: number, outType: string, outElems: number): DataflowGraph {
  return {
    name: 'one',
    source: 'test',
    streams: new Map([
      ['x', { name: 'x', qtype: parseQType(inType), shape: [inElems] }],
      ['y', { name: 'y', qtype: parseQType(outType), shape: [outElems] }],
    ]),
    layers: [{ ...layer, name: 'l0', inputs: ['x'], outputs: ['y'], origin: [] }],
    inputs: ['x'],
    outputs: ['y'],
    inputQuant: [],
    outputAffine: [],
  };
}
