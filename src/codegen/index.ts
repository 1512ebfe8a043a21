// Codegen: a folded dataflow graph → the output directory of the issue-3 contract:
//   rtl/            copies of the used hw/ files, one wrapper per layer (<kind>_<layer>.v), kiln_top.v
//   weights/*.mem   $readmemh ROMs of folded MVUs (paths relative to the output dir: simulate there)
//   manifest.json   what the simulator needs (ports, packing, streams, estimates)
//   dataflow.json   the folded graph, for the reference executor
//   report.json     per layer: kind, shape, datatypes, PE, SIMD, estimated cycles
// Width converters are inserted wherever a producer's beat width differs from its consumer's.
// Same input → byte-identical output (no timestamps, sorted keys where order is not given).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fail } from '../diag/index.ts';
import { bitWidth, isSigned, qtypeName } from '../ir/datatype.ts';
import type { DataflowGraph, Layer } from '../ir/dataflow.ts';
import { checkDataflow, type CheckedLayer } from '../exec/dataflow.ts';
import type { ParamValue, Port } from '../layers/define.ts';
import { mvuMultipliers } from '../layers/mvu.ts';
import { applyFolding, defaultFolding, type Folding } from '../passes/fold.ts';
import { dataflowToJson } from './dataflow-json.ts';
import { hwDir, kilnRoot, template } from './helpers.ts';
import { writeDirAtomic, checkOutputDir, type FileSet } from './write.ts';

export interface CompileOptions {
  /** PE/SIMD per layer; layers not named keep their attrs. Omitted: the default folding (src/passes/fold.ts). */
  fold?: Folding;
  /** Replace an existing output directory. */
  force?: boolean;
}

export interface PortInfo {
  elemBits: number;
  fold: number;
  beatsPerInference: number;
  signed: boolean;
  qtype: string;
}

export interface Manifest {
  top: 'kiln_top';
  files: string[];
  inW: number;
  outW: number;
  input: PortInfo;
  output: PortInfo;
  streams: string[];
  inputQuant: unknown[];
  outputAffine: DataflowGraph['outputAffine'];
  estimate: { cyclesPerInference: number; firstOutputLatency: number };
  model: string;
  kilnVersion: string;
  /** How the design was built: readmemh paths are relative to the output directory. */
  weightsRelativeTo: 'outputDir';
}

export interface LayerReport {
  name: string;
  kind: string;
  origin: string[];
  input: { qtype: string; elems: number; fold: number };
  output: { qtype: string; elems: number; fold: number };
  pe: number;
  simd?: number;
  cycles: number;
  weights?: { count: number; nonzero: number; multipliers: number };
}

export interface Report {
  model: string;
  layers: LayerReport[];
  cyclesPerInference: number;
  firstOutputLatency: number;
  /** Multipliers the MVUs really need (constant 0 / ±1 weights and binary/ternary products need none). */
  multipliers: number;
}

export interface Design {
  df: DataflowGraph;
  files: FileSet;
  manifest: Manifest;
  report: Report;
}

const kilnVersion = (JSON.parse(readFileSync(join(kilnRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** A deterministic Verilog identifier for a name. */
function identifier(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `n_${s}`;
}

/** The layers must form one chain from the graph input to its output (what the top level stitches). */
function checkChain(df: DataflowGraph): void {
  if (df.inputs.length !== 1 || df.outputs.length !== 1) {
    fail('CannotLower', `hardware designs take one input and one output stream, not ${df.inputs.length} and ${df.outputs.length}`);
  }
  if (df.layers.length === 0) fail('CannotLower', 'the dataflow graph has no layers');
  let stream = df.inputs[0];
  for (const l of df.layers) {
    if (l.inputs.length !== 1 || l.outputs.length !== 1) fail('CannotLower', `hardware layers are chained one input to one output; ${l.kind} has ${l.inputs.length} inputs and ${l.outputs.length} outputs`, l.name);
    if (l.inputs[0] !== stream) fail('CannotLower', `layer reads stream '${l.inputs[0]}' but the chain carries '${stream}' here (only chains are supported)`, l.name);
    stream = l.outputs[0];
  }
  if (stream !== df.outputs[0]) fail('CannotLower', `the chain ends in stream '${stream}', not the graph output '${df.outputs[0]}'`);
}

/** Inserts a WidthConverter between every pair of layers whose beats differ. */
function insertWidthConverters(df: DataflowGraph, checked: CheckedLayer[]): DataflowGraph {
  const layers: Layer[] = [];
  const streams = new Map(df.streams);
  const names = new Set(df.layers.map((l) => l.name));
  checked.forEach((c, i) => {
    if (i > 0) {
      const from = checked[i - 1].ports.out[0];
      const to = c.ports.in[0];
      if (from.fold !== to.fold) {
        const src = c.layer.inputs[0];
        const dst = `${src}__w${to.fold}`;
        let name = `${c.layer.name}_dwc`;
        while (names.has(name)) name += '_';
        names.add(name);
        streams.set(dst, { ...df.streams.get(src)!, name: dst });
        layers.push({
          name,
          kind: 'WidthConverter',
          attrs: { elems: to.elems, inFold: from.fold, outFold: to.fold, qtype: qtypeName(to.qtype) },
          consts: {},
          inputs: [src],
          outputs: [dst],
          origin: c.layer.origin,
        });
        layers.push({ ...c.layer, inputs: [dst] });
        return;
      }
    }
    layers.push(c.layer);
  });
  return { ...df, streams, layers };
}

function portInfo(p: Port): PortInfo {
  return { elemBits: bitWidth(p.qtype), fold: p.fold, beatsPerInference: p.elems / p.fold, signed: isSigned(p.qtype), qtype: qtypeName(p.qtype) };
}

function paramText(v: ParamValue): string {
  return typeof v === 'number' ? String(v) : v.verilog;
}

/** Builds the whole design in memory (throws KilnError on bad input, before anything is written). */
export function buildDesign(graph: DataflowGraph, opts: CompileOptions = {}): Design {
  checkChain(graph);
  const folded = applyFolding(graph, opts.fold ?? defaultFolding(graph));
  const df = insertWidthConverters(folded, checkDataflow(folded));
  const checked = checkDataflow(df);
  const model = basename(df.source || df.name);
  const files: FileSet = new Map();

  // Streams: the input, then each layer's output, in chain order (= dbg bit order).
  const streamIds = new Map<string, string>();
  const streamView = [df.inputs[0], ...df.layers.map((l) => l.outputs[0])].map((name, index) => {
    const port = index === 0 ? checked[0].ports.in[0] : checked[index - 1].ports.out[0];
    const id = `s${index}_${identifier(name)}`;
    streamIds.set(name, id);
    return { index, name, id, width: port.fold * bitWidth(port.qtype), fold: port.fold, qtype: qtypeName(port.qtype) };
  });

  const hwFiles: string[] = [];
  const layerFiles: string[] = [];
  const used = new Set<string>();
  const layerView = checked.map(({ layer, kind, attrs, ports }) => {
    const name = identifier(layer.name);
    if (used.has(name)) fail('CannotLower', `two layers map to the Verilog name '${name}'`, layer.name);
    used.add(name);
    const rtl = kind.spec.rtl;
    const module = `${rtl.module}_${name}`;
    const params = rtl.params(attrs as never, layer.consts, {
      memFile: (suffix, contents) => {
        const path = `weights/${name}_${suffix}.mem`;
        files.set(path, contents);
        return path;
      },
    });
    for (const f of rtl.files) if (!hwFiles.includes(f)) hwFiles.push(f);
    const file = `rtl/${module}.v`;
    layerFiles.push(file);
    files.set(file, template('layer.v')({
      model,
      origin: layer.origin.join(',') || layer.name,
    kind: layer.kind,
    name: layer.name,
      hwFile: rtl.files[rtl.files.length - 1],
      module,
      rtlModule: rtl.module,
      inW: ports.in[0].fold * bitWidth(ports.in[0].qtype),
      outW: ports.out[0].fold * bitWidth(ports.out[0].qtype),
      params: Object.entries(params).map(([k, v]) => ({ name: k, value: paramText(v) })),
    }));
    return { name, module, in: streamIds.get(layer.inputs[0])!, out: streamIds.get(layer.outputs[0])! };
  });

  const hwCopies = hwFiles.map((f) => {
    const path = `rtl/${basename(f)}`;
    files.set(path, readFileSync(join(hwDir, f), 'utf8'));
    return path;
  });

  const inPort = checked[0].ports.in[0];
  const outPort = checked[checked.length - 1].ports.out[0];
  const input = portInfo(inPort);
  const output = portInfo(outPort);
  const view = (p: PortInfo, id: string) => ({ ...p, id, width: p.fold * p.elemBits, beats: p.beatsPerInference });
  const reversed = [...streamView].reverse();
  files.set('rtl/kiln_top.v', template('top.v')({
    model,
    name: df.name,
    input: view(input, streamView[0].id),
    output: view(output, streamView[streamView.length - 1].id),
    streamCount: streamView.length,
    streams: streamView,
    dbgValid: reversed.map((s) => `${s.id}_tvalid`).join(', '),
    dbgReady: reversed.map((s) => `${s.id}_tready`).join(', '),
    layers: layerView,
  }));

  // Estimates: II = the slowest layer (or port); latency = first-inference timing along the chain.
  let first = 0;
  let last = input.beatsPerInference - 1;
  let ii = Math.max(input.beatsPerInference, output.beatsPerInference);
  for (const { kind, attrs } of checked) {
    [first, last] = kind.spec.timing(attrs as never, first, last);
    ii = Math.max(ii, kind.spec.cycles(attrs as never));
  }

  const manifest: Manifest = {
    top: 'kiln_top',
    files: [...hwCopies, ...layerFiles, 'rtl/kiln_top.v'],
    inW: input.fold * input.elemBits,
    outW: output.fold * output.elemBits,
    input,
    output,
    streams: streamView.map((s) => s.name),
    inputQuant: dataflowToJson(df).inputQuant,
    outputAffine: df.outputAffine,
    estimate: { cyclesPerInference: ii, firstOutputLatency: first },
    model,
    kilnVersion,
    weightsRelativeTo: 'outputDir',
  };
  const layerReports: LayerReport[] = checked.map(({ layer, kind, attrs, ports }) => ({
    name: layer.name,
    kind: layer.kind,
    origin: layer.origin,
    input: { qtype: qtypeName(ports.in[0].qtype), elems: ports.in[0].elems, fold: ports.in[0].fold },
    output: { qtype: qtypeName(ports.out[0].qtype), elems: ports.out[0].elems, fold: ports.out[0].fold },
    pe: (attrs.pe as number | undefined) ?? ports.out[0].fold,
    ...(layer.kind === 'MVU' ? { simd: attrs.simd as number } : {}),
    cycles: kind.spec.cycles(attrs as never),
    ...(layer.kind === 'MVU'
      ? { weights: { count: layer.consts.weights.length, nonzero: layer.consts.weights.filter((w) => w !== 0).length, multipliers: mvuMultipliers(attrs as never, layer.consts.weights) } }
      : {}),
  }));
  const report: Report = {
    model,
    layers: layerReports,
    cyclesPerInference: ii,
    firstOutputLatency: first,
    multipliers: layerReports.reduce((n, l) => n + (l.weights?.multipliers ?? 0), 0),
  };
  files.set('manifest.json', JSON.stringify(manifest, null, 2) + '\n');
  files.set('dataflow.json', JSON.stringify(dataflowToJson(df)) + '\n');
  files.set('report.json', JSON.stringify(report, null, 2) + '\n');
  return { df, files, manifest, report };
}

/** Compiles a dataflow graph into outDir (atomically; KLN1015 if it exists and !force). */
export function compileDataflow(df: DataflowGraph, outDir: string, opts: CompileOptions = {}): Design {
  checkOutputDir(outDir, opts.force ?? false);
  const design = buildDesign(df, opts);
  writeDirAtomic(outDir, design.files, opts.force ?? false);
  return design;
}
