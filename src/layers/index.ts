// Every hardware layer kind, explicitly (no magic registration). A unit test checks each has RTL and a sim test.
import type { LayerKind } from './define.ts';
import mvu from './mvu.ts';
import threshold from './threshold.ts';
import requant from './requant.ts';
import labelSelect from './label-select.ts';
import widthConverter from './width-converter.ts';
import slidingWindow from './sliding-window.ts';
import pad from './pad.ts';
import maxPool from './max-pool.ts';
import avgPool from './avg-pool.ts';
import vectorVector from './vector-vector.ts';
import duplicate from './duplicate.ts';
import addStreams from './add-streams.ts';
import fifo from './fifo.ts';
import concat from './concat.ts';
import { fail } from '../diag/index.ts';

export const layerKinds: LayerKind[] = [mvu, threshold, requant, labelSelect, widthConverter, slidingWindow, pad, maxPool, avgPool, vectorVector, duplicate, addStreams, fifo, concat];

export function layerKind(kind: string, where?: string): LayerKind {
  const k = layerKinds.find((l) => l.kind === kind);
  if (!k) fail('CannotLower', `unknown dataflow layer kind '${kind}' (known: ${layerKinds.map((l) => l.kind).join(', ')})`, where);
  return k;
}
