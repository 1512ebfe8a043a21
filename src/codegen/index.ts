// Codegen: a folded dataflow graph → the output directory of the issue-3 contract:
//   rtl/            copies of the used hw/ files (their hw/common headers pasted in: no `include),
//                   one wrapper per layer (<kind>_<layer>.v), kiln_top.v
//   weights/*.mem   $readmemh ROMs of folded MVUs (paths relative to the output dir: simulate there)
//   manifest.json   what the simulator needs (ports, packing, streams, estimates)
//   dataflow.json   the folded graph, for the reference executor
//   report.json     per layer: kind, shape, datatypes, PE, SIMD, estimated cycles
// It renders a folded, verified graph (src/dataflow/pipeline.ts folds and checks it).
// Same input → byte-identical output (no timestamps, sorted keys where order is not given).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fail } from '../diag/index.ts';
import { bitWidth, isSigned, qtypeName } from '../ir/datatype.ts';
import type { DataflowGraph } from '../ir/dataflow.ts';
import { checkLiteralWidths, type ParamValue, type Port } from '../layers/define.ts';
import mvu, { mvuPacking } from '../layers/mvu.ts';
import { mvuMultipliers } from '../layers/common/mvu-weights.ts';
import { isKind } from '../exec/dataflow.ts';
import { describeHostGrid, hostGrid, type HostGrid } from '../lower/host.ts';
import { foldedDataflow, type FoldOptions } from '../dataflow/pipeline.ts';
import type { RunPipelineOptions } from '../passes/pass.ts';
import type { Manifest, PortInfo } from '../sim/manifest.ts';
import { renderReportHtml } from '../report/html.ts';
import { estimateNetwork, type NetworkEstimate } from '../estimate/network.ts';
import { dataflowToJson } from '../dataflow/json.ts';
import { hwSource, kilnRoot, template } from './helpers.ts';
import { writeDirAtomic, checkOutputDir, type FileSet } from './write.ts';
import { streamWireId, verilogIdentifier } from '../util/verilog-names.ts';

export interface CompileOptions extends FoldOptions, RunPipelineOptions {
  /** Replace an existing output directory. */
  force?: boolean;
  /** The device report.html shows the resources against (--fold auto --device; default src/report/html.ts DEFAULT_DEVICE). */
  device?: string;
}

export interface LayerReport {
  name: string;
  kind: string;
  origin: string[];
  input: { qtype: string; elems: number; fold: number };
  output: { qtype: string; elems: number; fold: number };
  pe: number;
  simd?: number;
  /** MVU: the multiplier kind asked for ("auto" | "dsp" | "lut") and, when packed, lanes per DSP48. */
  mult?: string;
  dspLanes?: number;
  cycles: number;
  weights?: { count: number; nonzero: number; multipliers: number };
  /** Fifo layers: depth in beats (bypass FIFOs are sized by src/dataflow/fifo-sizing.ts). */
  depth?: number;
}

export interface Report {
  model: string;
  layers: LayerReport[];
  cyclesPerInference: number;
  firstOutputLatency: number;
  /** Multipliers the MVUs really need (constant 0 / ±1 weights and binary/ternary products need none). */
  multipliers: number;
  /** Performance and resource estimates (src/estimate); `kiln synth` adds measured figures beside it. */
  estimate: NetworkEstimate;
  /** The device chosen at compile time (its budget is shown in report.html). */
  device?: string;
  /** A float input's grid, when kiln chose it (src/lower/host.ts): what the host rounds to and the worst-case input error. */
  hostInput?: HostGrid;
}

export interface Design {
  df: DataflowGraph;
  files: FileSet;
  manifest: Manifest;
  report: Report;
}

const kilnVersion = (JSON.parse(readFileSync(join(kilnRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** AXI4-Stream port prefixes of a layer's RTL: s_axis / m_axis, or s0_axis, s1_axis, … when there are several. */
function portPrefixes(dir: 's' | 'm', n: number): string[] {
  return n === 1 ? [`${dir}_axis`] : Array.from({ length: n }, (_, i) => `${dir}${i}_axis`);
}

function portInfo(p: Port): PortInfo {
  return { elemBits: bitWidth(p.qtype), fold: p.fold, beatsPerInference: p.elems / p.fold, signed: isSigned(p.qtype), qtype: qtypeName(p.qtype) };
}

function paramText(v: ParamValue): string {
  return typeof v === 'number' ? String(v) : v.verilog;
}

/** report.json's dspLanes of a packed MVU (absent when not packed). */
function dspLanes(attrs: Parameters<typeof mvuPacking>[0], weights: readonly number[]): { dspLanes?: number } {
  const p = mvuPacking(attrs, weights);
  return p ? { dspLanes: p.lanes } : {};
}

/** Builds the whole design in memory (throws KilnError on bad input, before anything is written). */
export function buildDesign(graph: DataflowGraph, opts: CompileOptions = {}): Design {
  const { df, checked } = foldedDataflow(graph, opts);
  const model = basename(df.source || df.name);
  const files: FileSet = new Map();

  // Streams: the input, then each layer's outputs, in layer order (= dbg bit order).
  const streamPort = new Map<string, Port>();
  for (const c of checked) {
    c.layer.inputs.forEach((s, i) => { if (s === df.inputs[0]) streamPort.set(s, c.ports.in[i]); });
    c.layer.outputs.forEach((s, i) => streamPort.set(s, c.ports.out[i]));
  }
  const streamIds = new Map<string, string>();
  const streamView = [df.inputs[0], ...df.layers.flatMap((l) => l.outputs)].map((name, index) => {
    const port = streamPort.get(name)!;
    const id = streamWireId(index, name);
    streamIds.set(name, id);
    return { index, name, id, width: port.fold * bitWidth(port.qtype), fold: port.fold, qtype: qtypeName(port.qtype) };
  });

  const hwFiles: string[] = [];
  const layerFiles: string[] = [];
  const used = new Set<string>();
  const layerView = checked.map(({ layer, kind, attrs, ports }) => {
    const name = verilogIdentifier(layer.name);
    if (used.has(name)) fail('CannotLower', `two layers map to the Verilog name '${name}'`, layer.name);
    used.add(name);
    const rtl = { ...kind.spec.rtl, ...kind.spec.rtl.variant?.(attrs, layer.consts) };
    const module = `${rtl.module}_${name}`;
    const params = rtl.params(attrs, layer.consts, {
      memFile: (suffix, contents) => {
        const path = `weights/${name}_${suffix}.mem`;
        files.set(path, contents);
        return path;
      },
    });
    checkLiteralWidths(layer.name, params);
    for (const f of rtl.files) if (!hwFiles.includes(f)) hwFiles.push(f);
    // A generated core module (e.g. the unrolled MVU's adder graph) goes beside its wrapper.
    const core = `${module}_core`;
    const source = kind.spec.rtl.source?.(attrs as never, layer.consts, core);
    if (source !== undefined) {
      files.set(`rtl/${core}.v`, source);
      layerFiles.push(`rtl/${core}.v`);
    }
    const file = `rtl/${module}.v`;
    layerFiles.push(file);
    files.set(file, template('layer.v')({
      model,
      origin: layer.origin.join(',') || layer.name,
    kind: layer.kind,
    name: layer.name,
      hwFile: source !== undefined ? `rtl/${core}.v (generated)` : `hw/${rtl.files[rtl.files.length - 1]}`,
      module,
      rtlModule: source !== undefined ? core : rtl.module,
      ins: portPrefixes('s', ports.in.length).map((prefix, i) => ({ prefix, width: ports.in[i].fold * bitWidth(ports.in[i].qtype) })),
      outs: portPrefixes('m', ports.out.length).map((prefix, i) => ({ prefix, width: ports.out[i].fold * bitWidth(ports.out[i].qtype) })),
      ports: [...portPrefixes('s', ports.in.length), ...portPrefixes('m', ports.out.length)],
      params: Object.entries(params).map(([k, v]) => ({ name: k, value: paramText(v) })),
    }));
    const connect = (prefixes: string[], streamNames: string[]) => prefixes.map((prefix, i) => ({ prefix, id: streamIds.get(streamNames[i])! }));
    return { name, module, ports: [...connect(portPrefixes('s', ports.in.length), layer.inputs), ...connect(portPrefixes('m', ports.out.length), layer.outputs)] };
  });

  const hwCopies = hwFiles.map((f) => {
    const path = `rtl/${basename(f)}`;
    files.set(path, hwSource(f));
    return path;
  });

  const inPort = streamPort.get(df.inputs[0])!;
  const outPort = streamPort.get(df.outputs[0])!;
  const input = portInfo(inPort);
  const output = portInfo(outPort);
  const view = (p: PortInfo, id: string) => ({ ...p, id, width: p.fold * p.elemBits, beats: p.beatsPerInference });
  const reversed = [...streamView].reverse();
  files.set('rtl/kiln_top.v', template('top.v')({
    model,
    name: df.name,
    input: view(input, streamView[0].id),
    output: view(output, streamIds.get(df.outputs[0])!),
    streamCount: streamView.length,
    streams: streamView,
    dbgValid: reversed.map((s) => `${s.id}_tvalid`).join(', '),
    dbgReady: reversed.map((s) => `${s.id}_tready`).join(', '),
    layers: layerView,
  }));

  // Estimates: II, first-output latency (src/estimate/perf.ts) and resources (src/estimate).
  const estimate = estimateNetwork(df, checked);
  const ii = estimate.cyclesPerInference;
  const first = estimate.firstOutputLatency;

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
  const layerReports: LayerReport[] = checked.map((c) => {
    const { layer, kind, attrs, ports } = c;
    return {
      name: layer.name,
      kind: layer.kind,
      origin: layer.origin,
      input: { qtype: qtypeName(ports.in[0].qtype), elems: ports.in[0].elems, fold: ports.in[0].fold },
      output: { qtype: qtypeName(ports.out[0].qtype), elems: ports.out[0].elems, fold: ports.out[0].fold },
      pe: (attrs.pe as number | undefined) ?? ports.out[0].fold,
      ...(isKind(c, mvu) ? { simd: c.attrs.simd, mult: c.attrs.mult, ...dspLanes(c.attrs, layer.consts.weights) } : {}),
      cycles: kind.spec.cycles(attrs),
      ...(layer.kind === 'Fifo' ? { depth: attrs.depth as number } : {}),
      ...(isKind(c, mvu)
        ? { weights: { count: layer.consts.weights.length, nonzero: layer.consts.weights.filter((w) => w !== 0).length, multipliers: mvuMultipliers(c.attrs, layer.consts.weights) } }
        : {}),
    };
  });
  const report: Report = {
    model,
    layers: layerReports,
    cyclesPerInference: ii,
    firstOutputLatency: first,
    multipliers: layerReports.reduce((n, l) => n + (l.weights?.multipliers ?? 0), 0),
    estimate,
    ...(opts.device ? { device: opts.device } : {}),
    ...(hostGrid(df.inputQuant[0]) ? { hostInput: hostGrid(df.inputQuant[0]) } : {}),
  };
  files.set('manifest.json', JSON.stringify(manifest, null, 2) + '\n');
  files.set('dataflow.json', JSON.stringify(dataflowToJson(df)) + '\n');
  files.set('report.json', JSON.stringify(report, null, 2) + '\n');
  files.set('report.html', renderReportHtml({ model, estimate, clockMHz: 200, layers: df.layers, input: df.inputs[0], device: opts.device, ...(report.hostInput ? { hostInput: describeHostGrid(report.hostInput) } : {}) }));
  return { df, files, manifest, report };
}

/** Compiles a dataflow graph into outDir (atomically; KLN1015 if it exists and !force). */
export function compileDataflow(df: DataflowGraph, outDir: string, opts: CompileOptions = {}): Design {
  checkOutputDir(outDir, opts.force ?? false);
  const design = buildDesign(df, opts);
  writeDirAtomic(outDir, design.files, opts.force ?? false);
  return design;
}
