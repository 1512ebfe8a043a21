// Read an .onnx file into a kiln Graph, and write a Graph back as an ONNX model.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { fail, KilnError } from '../diag/index.ts';
import { parseQType } from '../ir/datatype.ts';
import type { AttrValue, Dim, Graph, Node, ValueInfo } from '../ir/graph.ts';
import { makeTensor, type Tensor } from '../ir/tensor.ts';
import { decodeTensor, describeProtobufError, dtypeFromOnnx, dtypeToOnnx, encodeTensor } from './tensor.ts';
import { onnx, toNum, type AttributeProto, type ModelProto, type NodeProto, type ValueInfoProto } from './proto.ts';

const AT = onnx.AttributeProto.AttributeType;

/** Upper bound on model files kiln opens (protobuf itself caps at 2 GiB). */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

export function loadModel(path: string): Graph {
  if (!existsSync(path)) fail('FileNotFound', `model file '${path}' does not exist`);
  const st = statSync(path);
  if (!st.isFile()) fail('FileNotFound', `'${path}' is not a file`);
  if (st.size === 0) fail('MalformedModel', `model file '${path}' is empty`);
  if (st.size > MAX_MODEL_BYTES) fail('MalformedModel', `model file '${path}' is ${st.size} bytes, larger than ONNX's 2 GiB limit`);
  return decodeModel(readFileSync(path), path);
}

export function decodeModel(bytes: Uint8Array, where = 'model'): Graph {
  if (bytes.length === 0) fail('MalformedModel', `model file '${where}' is empty`);
  let m: ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (e) {
    fail('MalformedModel', `'${where}' is not a valid ONNX model (${describeProtobufError((e as Error).message)})`);
  }
  const ir = toNum(m.irVersion as unknown as number);
  if (!m.graph || ir <= 0 || ir > 12) {
    fail('MalformedModel', `'${where}' is not a valid ONNX model (${!m.graph ? 'no graph' : `ir_version ${ir} is outside 1..12`})`);
  }
  const opsets: Record<string, number> = {};
  for (const o of m.opsetImport ?? []) opsets[o.domain === 'ai.onnx' ? '' : (o.domain ?? '')] = toNum(o.version as unknown as number);
  const declared = opsets[''];
  if (declared === undefined) opsets[''] = 1;
  let g: Graph;
  try {
    g = decodeGraph(m, opsets, ir);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    fail('MalformedModel', `'${where}' is not a valid ONNX model (${(e as Error).message})`);
  }
  checkOpset(g, declared, where);
  return g;
}

/**
 * The ai.onnx opsets kiln executes: up to 21, which kiln compress writes for 16-bit QDQ. (The schema
 * table, from onnx 1.12, reaches ONNX_MAX_OPSET = 17; above that schema-check only checks minima.)
 */
export const OPSETS = { min: 1, max: 21 };

/** The ai.onnx opset must be one kiln implements, and declared when the graph uses ai.onnx ops. */
function checkOpset(g: Graph, declared: number | undefined, where: string): void {
  const range = `kiln implements ai.onnx opsets ${OPSETS.min} to ${OPSETS.max}`;
  if (declared === undefined) {
    if (g.nodes.some((n) => n.domain === '' || n.domain === 'ai.onnx')) {
      fail('MalformedModel', `'${where}' uses ai.onnx ops but declares no ai.onnx opset (${range}): re-export it with an opset_import`);
    }
    return;
  }
  if (!Number.isInteger(declared) || declared < OPSETS.min || declared > OPSETS.max) {
    fail('MalformedModel', `'${where}' declares ai.onnx opset ${declared}; ${range}: re-export it with one of those`);
  }
}

function decodeDims(vi: ValueInfoProto): Dim[] | undefined {
  const shape = vi.type?.tensorType?.shape;
  if (!shape) return undefined;
  return (shape.dim ?? []).map((d, i) => {
    if ((d as { value?: string }).value === 'dimValue') return toNum(d.dimValue as unknown as number);
    return d.dimParam || `d${i}`;
  });
}

function decodeValueInfo(vi: ValueInfoProto): ValueInfo {
  const tt = vi.type?.tensorType;
  if (!tt) fail('UnsupportedDType', `value '${vi.name}' is not a tensor (sequences, maps and optionals are not supported)`);
  return { name: vi.name ?? '', dtype: dtypeFromOnnx(toNum(tt.elemType ?? 0), `value '${vi.name}'`), shape: decodeDims(vi) };
}

function decodeAttr(a: AttributeProto, node: string): AttrValue {
  const t = toNum(a.type as unknown as number);
  switch (t) {
    case AT.INT: return { kind: 'int', v: toNum(a.i as unknown as number) };
    case AT.FLOAT: return { kind: 'float', v: a.f ?? 0 };
    case AT.STRING: return { kind: 'string', v: Buffer.from(a.s ?? []).toString('utf8') };
    case AT.TENSOR: return { kind: 'tensor', v: decodeTensor(a.t!, `${node}.${a.name}`) };
    case AT.INTS: return { kind: 'ints', v: (a.ints ?? []).map((x) => toNum(x as unknown as number)) };
    case AT.FLOATS: return { kind: 'floats', v: [...(a.floats ?? [])] };
    case AT.STRINGS: return { kind: 'strings', v: (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) };
    case AT.GRAPH: case AT.GRAPHS: return { kind: 'graph' };
    default:
      // Very old exporters leave `type` unset: infer it from which field is filled.
      if (a.ints && a.ints.length) return { kind: 'ints', v: a.ints.map((x) => toNum(x as unknown as number)) };
      if (a.floats && a.floats.length) return { kind: 'floats', v: [...a.floats] };
      if (a.t) return { kind: 'tensor', v: decodeTensor(a.t, `${node}.${a.name}`) };
      if (a.s && a.s.length) return { kind: 'string', v: Buffer.from(a.s).toString('utf8') };
      if (a.f) return { kind: 'float', v: a.f };
      return { kind: 'int', v: toNum(a.i as unknown as number) };
  }
}

/** The value of a Constant node as a tensor (value, value_float(s), value_int(s)). */
export function constantValue(n: Node): Tensor {
  const a = n.attrs;
  if (a.value?.kind === 'tensor') return a.value.v;
  if (a.value_float?.kind === 'float') return makeTensor('float32', [], [a.value_float.v]);
  if (a.value_floats?.kind === 'floats') return makeTensor('float32', [a.value_floats.v.length], a.value_floats.v);
  if (a.value_int?.kind === 'int') return makeTensor('int64', [], [a.value_int.v]);
  if (a.value_ints?.kind === 'ints') return makeTensor('int64', [a.value_ints.v.length], a.value_ints.v);
  fail('BadAttribute', 'Constant must have a value, value_float(s) or value_int(s) attribute', n.name);
}

function decodeGraph(m: ModelProto, opsets: Record<string, number>, irVersion: number): Graph {
  const gp = m.graph!;
  const initializers = new Map<string, Tensor>();
  for (const tp of gp.initializer ?? []) initializers.set(tp.name ?? '', decodeTensor(tp, tp.name ?? 'initializer'));
  if ((gp.sparseInitializer ?? []).length > 0) fail('UnsupportedDType', 'sparse initializers are not supported');
  const nodes: Node[] = [];
  const usedNames = new Set<string>();
  (gp.node ?? []).forEach((np: NodeProto, idx: number) => {
    let name = np.name || `${np.opType}_${idx}`;
    while (usedNames.has(name)) name = `${name}_${idx}`;
    usedNames.add(name);
    const attrs: Record<string, AttrValue> = {};
    for (const a of np.attribute ?? []) attrs[a.name ?? ''] = decodeAttr(a, name);
    nodes.push({ name, op: np.opType ?? '', domain: np.domain ?? '', inputs: [...(np.input ?? [])], outputs: [...(np.output ?? [])], attrs });
  });
  const g: Graph = {
    name: gp.name || 'main',
    nodes: [],
    inputs: (gp.input ?? []).map(decodeValueInfo),
    outputs: (gp.output ?? []).map(decodeValueInfo),
    initializers,
    valueInfo: new Map(),
    qtypes: new Map(),
    opsets,
    irVersion,
    producer: [m.producerName, m.producerVersion].filter(Boolean).join(' '),
  };
  for (const vi of gp.valueInfo ?? []) {
    if (vi.type?.tensorType) g.valueInfo.set(vi.name ?? '', decodeValueInfo(vi));
  }
  // Constant nodes become initializers: one representation of a constant for every pass.
  for (const n of nodes) {
    if (n.op === 'Constant' && (n.domain === '' || n.domain === 'ai.onnx')) initializers.set(n.outputs[0], constantValue(n));
    else g.nodes.push(n);
  }
  // FINN/QONNX datatype annotations: quantization_annotation { tensor_name, quant_parameter_tensor_names: [{key: 'finn_datatype', value}] }
  for (const qa of gp.quantizationAnnotation ?? []) {
    for (const kv of qa.quantParameterTensorNames ?? []) {
      if (kv.key !== 'finn_datatype' || !kv.value) continue;
      try {
        g.qtypes.set(qa.tensorName ?? '', parseQType(kv.value));
      } catch {
        // An annotation kiln does not know (e.g. a FINN float type) carries no information it uses.
      }
    }
  }
  return g;
}

// ---- writing ------------------------------------------------------------------------------------

function encodeValueInfo(vi: ValueInfo): ValueInfoProto {
  return onnx.ValueInfoProto.create({
    name: vi.name,
    type: {
      tensorType: {
        elemType: dtypeToOnnx(vi.dtype),
        shape: vi.shape ? { dim: vi.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined,
      },
    },
  });
}

function encodeAttr(name: string, a: AttrValue): AttributeProto {
  switch (a.kind) {
    case 'int': return onnx.AttributeProto.create({ name, type: AT.INT, i: a.v });
    case 'float': return onnx.AttributeProto.create({ name, type: AT.FLOAT, f: a.v });
    case 'string': return onnx.AttributeProto.create({ name, type: AT.STRING, s: Buffer.from(a.v, 'utf8') });
    case 'tensor': return onnx.AttributeProto.create({ name, type: AT.TENSOR, t: encodeTensor(a.v) });
    case 'ints': return onnx.AttributeProto.create({ name, type: AT.INTS, ints: a.v });
    case 'floats': return onnx.AttributeProto.create({ name, type: AT.FLOATS, floats: a.v });
    case 'strings': return onnx.AttributeProto.create({ name, type: AT.STRINGS, strings: a.v.map((s) => Buffer.from(s, 'utf8')) });
    case 'graph': fail('UnsupportedDType', `attribute '${name}' holds a subgraph, which kiln cannot write`);
  }
}

/** Serialize a graph as an ONNX model (deterministic: same graph → same bytes). */
export function encodeModel(g: Graph): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: g.irVersion,
    producerName: 'kiln',
    opsetImport: Object.entries(g.opsets).map(([domain, version]) => ({ domain, version })),
    graph: {
      name: g.name,
      node: g.nodes.map((n) =>
        onnx.NodeProto.create({
          name: n.name, opType: n.op, domain: n.domain, input: n.inputs, output: n.outputs,
          attribute: Object.entries(n.attrs).map(([k, v]) => encodeAttr(k, v)),
        }),
      ),
      initializer: [...g.initializers].map(([name, t]) => encodeTensor(t, name)),
      input: g.inputs.map(encodeValueInfo),
      output: g.outputs.map(encodeValueInfo),
      valueInfo: [...g.valueInfo.values()].map(encodeValueInfo),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
