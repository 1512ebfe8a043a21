// dataflow.json: the folded dataflow graph as plain JSON (datatypes by name), so `kiln sim` can run
// the integer reference executor without the ONNX model.
import { fail } from '../diag/index.ts';
import { parseQType, qtypeName } from '../ir/datatype.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { readJsonFile } from '../io/json.ts';

export interface DataflowJson {
  name: string;
  source: string;
  streams: { name: string; qtype: string; shape: number[] }[];
  layers: DataflowGraph['layers'];
  inputs: string[];
  outputs: string[];
  inputQuant: (Omit<DataflowGraph['inputQuant'][number], 'qtype'> & { qtype: string })[];
  outputAffine: DataflowGraph['outputAffine'];
}

export function dataflowToJson(df: DataflowGraph): DataflowJson {
  return {
    name: df.name,
    source: df.source,
    streams: [...df.streams.values()].map((s) => ({ name: s.name, qtype: qtypeName(s.qtype), shape: s.shape })),
    layers: df.layers,
    inputs: df.inputs,
    outputs: df.outputs,
    inputQuant: df.inputQuant.map((q) => ({ ...q, qtype: qtypeName(q.qtype) })), // keeps mode / clip
    outputAffine: df.outputAffine,
  };
}

export function dataflowFromJson(j: DataflowJson): DataflowGraph {
  return {
    name: j.name,
    source: j.source,
    streams: new Map(j.streams.map((s) => [s.name, { name: s.name, qtype: parseQType(s.qtype), shape: s.shape }])),
    layers: j.layers,
    inputs: j.inputs,
    outputs: j.outputs,
    inputQuant: j.inputQuant.map((q) => ({ ...q, qtype: parseQType(q.qtype) })),
    outputAffine: j.outputAffine,
  };
}

/** Reads `<dir>/dataflow.json` (KLN1011 when malformed). */
export function readDataflowJson(path: string): DataflowGraph {
  const j = readJsonFile(path, 'dataflow graph', 'recompile the design with kiln compile') as DataflowJson;
  if (!Array.isArray(j.streams) || !Array.isArray(j.layers)) fail('BadInputFile', `${path}: streams and layers must be lists`);
  return dataflowFromJson(j);
}
