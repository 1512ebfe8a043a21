// The textual form of a DataflowGraph (`kiln compile --dump-after <dataflow pass>`, the golden files):
// line-oriented, readable, and exact (parseDataflow reads it back; printing that gives the same text).
//
//   kiln-dataflow 1
//   graph "tfc" source="model.onnx"
//   input %x
//   output %y
//   stream %x: UINT8[784]
//   inquant {"scale":[0.0039],"zeroPoint":[0],"qtype":"UINT8"}   (one per graph input; JSON, qtype by name)
//   outaffine {"scale":[0.5],"offset":[0]}                       (one per graph output)
//   %h = MVU(%x) @fc1 {rows=64, cols=784, pe=4, inType="UINT8"} origin=["Gemm_0"]
//   %t = Threshold(%h) @t1 {…, impl="parallel"} why={"impl":"cheapest …"}          (why: when the layer has one)
//     const weights[50176] = [1, -1, 0, …]                       (integers; all of them)
//   %a, %b = Duplicate(%h) @dup {elems=64, qtype="INT4"}
//
// Names are printed as in the ONNX IR text (src/ir/print.ts: %name, JSON-quoted when not plain);
// attribute values are JSON.
import { fail } from '../diag/index.ts';
import type { DataflowGraph, Layer } from './dataflow.ts';
import { parseQType, qtypeName } from './datatype.ts';
import { printName, printNumber } from './print.ts';

export const DATAFLOW_MAGIC = 'kiln-dataflow 1';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

const key = (k: string): string => (IDENT.test(k) ? k : JSON.stringify(k));

/** JSON.stringify without spaces, but keeping -0 (JSON.parse reads '-0' back as -0). */
function json(v: unknown): string {
  if (Object.is(v, -0)) return '-0';
  if (Array.isArray(v)) return `[${v.map(json).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => `${JSON.stringify(k)}:${json(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function printConst(name: string, v: number[]): string {
  return `  const ${key(name)}[${v.length}] = [${v.map(printNumber).join(', ')}]`;
}

function printLayer(l: Layer): string[] {
  const names = (s: string[]) => s.map(printName).join(', ');
  const attrs = Object.entries(l.attrs).map(([k, v]) => `${key(k)}=${json(v)}`).join(', ');
  const origin = l.origin.length === 1 && l.origin[0] === l.name ? '' : ` origin=${json(l.origin)}`;
  const why = l.why ? ` why=${json(l.why)}` : '';
  const head = `${names(l.outputs) || '()'} = ${key(l.kind)}(${names(l.inputs)}) @${key(l.name)} {${attrs}}${origin}${why}`;
  return [head, ...Object.entries(l.consts).map(([k, v]) => printConst(k, v))];
}

export function printDataflow(df: DataflowGraph): string {
  const lines = [DATAFLOW_MAGIC, `graph ${JSON.stringify(df.name)} source=${JSON.stringify(df.source)}`];
  for (const s of df.inputs) lines.push(`input ${printName(s)}`);
  for (const s of df.outputs) lines.push(`output ${printName(s)}`);
  for (const s of df.streams.values()) lines.push(`stream ${printName(s.name)}: ${qtypeName(s.qtype)}[${s.shape.join(',')}]`);
  for (const q of df.inputQuant) lines.push(`inquant ${json({ ...q, qtype: qtypeName(q.qtype) })}`);
  for (const a of df.outputAffine) lines.push(`outaffine ${json(a)}`);
  for (const l of df.layers) lines.push(...printLayer(l));
  return lines.join('\n') + '\n';
}

/** A cursor over one line of dataflow IR text. */
class Cursor {
  pos = 0;
  constructor(readonly text: string, readonly lineNo: number) {}

  error(msg: string): never {
    fail('BadIrText', `dataflow IR line ${this.lineNo}: ${msg}: ${this.text.length > 120 ? this.text.slice(0, 117) + '...' : this.text}`);
  }

  eat(s: string): boolean {
    if (!this.text.startsWith(s, this.pos)) return false;
    this.pos += s.length;
    return true;
  }

  expect(s: string): void {
    if (!this.eat(s)) this.error(`expected '${s}' at column ${this.pos + 1}`);
  }

  done(): boolean {
    return this.pos >= this.text.length;
  }

  /** A JSON value starting here: a string, an array or object (brackets matched), else a bare token. */
  json(): unknown {
    const start = this.pos;
    const t = this.text;
    const skipString = () => {
      for (this.pos++; this.pos < t.length && t[this.pos] !== '"'; ) this.pos += t[this.pos] === '\\' ? 2 : 1;
      this.pos++;
    };
    if (t[this.pos] === '"') skipString();
    else if (t[this.pos] === '[' || t[this.pos] === '{') {
      let depth = 0;
      do {
        const c = t[this.pos];
        if (c === '"') { skipString(); continue; }
        if (c === '[' || c === '{') depth++;
        else if (c === ']' || c === '}') depth--;
        this.pos++;
      } while (depth > 0 && this.pos < t.length);
    } else {
      while (this.pos < t.length && !/[, }\]]/.test(t[this.pos])) this.pos++;
    }
    try {
      return JSON.parse(t.slice(start, this.pos));
    } catch {
      this.error(`bad JSON value at column ${start + 1}`);
    }
  }

  /** An identifier or a JSON-quoted string. */
  word(): string {
    if (this.text[this.pos] === '"') return this.json() as string;
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos));
    if (!m) this.error(`expected a name at column ${this.pos + 1}`);
    this.pos += m[0].length;
    return m[0];
  }

  /** A stream name as printName writes it: %plain or %"quoted". */
  streamName(): string {
    this.expect('%');
    if (this.text[this.pos] === '"') return this.json() as string;
    const m = /^[A-Za-z0-9_.\-/:]*[A-Za-z0-9_.\-/]/.exec(this.text.slice(this.pos));
    if (!m) this.error(`expected a stream name at column ${this.pos + 1}`);
    // a trailing ':' belongs to `%x: TYPE`, not to the name
    this.pos += m[0].length;
    return m[0];
  }

  names(end: string): string[] {
    const out: string[] = [];
    while (!this.text.startsWith(end, this.pos)) {
      out.push(this.streamName());
      if (!this.eat(', ')) break;
    }
    return out;
  }
}

function parseConst(c: Cursor): [string, number[]] {
  c.expect('  const ');
  const name = c.word();
  c.expect('[');
  const n = Number(/^\d+/.exec(c.text.slice(c.pos))?.[0] ?? NaN);
  if (!Number.isInteger(n)) c.error('expected the const length');
  c.pos += String(n).length;
  c.expect('] = ');
  c.expect('[');
  const text = c.text.slice(c.pos, c.text.indexOf(']', c.pos));
  const words = text === '' ? [] : text.split(', ');
  const v = words.map((x) => (x === '-0' ? -0 : x === 'nan' ? NaN : x === 'inf' ? Infinity : x === '-inf' ? -Infinity : Number(x)));
  if (v.length !== n || v.some((x, i) => Number.isNaN(x) && words[i] !== 'nan')) c.error(`const '${name}' must hold ${n} numbers`);
  c.pos += text.length + 1;
  return [name, v];
}

function parseLayer(c: Cursor): Layer {
  const outputs = c.eat('()') ? [] : c.names(' = ');
  c.expect(' = ');
  const kind = c.word();
  c.expect('(');
  const inputs = c.names(')');
  c.expect(') @');
  const name = c.word();
  c.expect(' {');
  const attrs: Record<string, unknown> = {};
  while (!c.eat('}')) {
    const k = c.word();
    c.expect('=');
    attrs[k] = c.json();
    if (!c.eat(', ') && !c.text.startsWith('}', c.pos)) c.error(`expected ', ' or '}' at column ${c.pos + 1}`);
  }
  let origin = [name];
  if (c.eat(' origin=')) origin = c.json() as string[];
  const why = c.eat(' why=') ? (c.json() as Record<string, string>) : undefined;
  if (!c.done()) c.error(`unexpected text at column ${c.pos + 1}`);
  return { name, kind, attrs, consts: {}, inputs, outputs, origin, ...(why ? { why } : {}) };
}

/** Reads printDataflow's text back (KLN1013 naming the line on malformed text). */
export function parseDataflow(text: string): DataflowGraph {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== DATAFLOW_MAGIC) fail('BadIrText', `dataflow IR text must start with '${DATAFLOW_MAGIC}'`);
  const df: DataflowGraph = { name: '', source: '', streams: new Map(), layers: [], inputs: [], outputs: [], inputQuant: [], outputAffine: [] };
  lines.slice(1).forEach((text, i) => {
    const c: Cursor = new Cursor(text, i + 2);
    if (c.eat('graph ')) {
      df.name = c.json() as string;
      c.expect(' source=');
      df.source = c.json() as string;
    } else if (c.eat('input ')) df.inputs.push(c.streamName());
    else if (c.eat('output ')) df.outputs.push(c.streamName());
    else if (c.eat('stream ')) {
      const name = c.streamName();
      c.expect(': ');
      const m = /^(.+)\[([\d,]*)\]$/.exec(c.text.slice(c.pos));
      if (!m) c.error('expected TYPE[shape]');
      df.streams.set(name, { name, qtype: parseQType(m[1]), shape: m[2] === '' ? [] : m[2].split(',').map(Number) });
      c.pos = c.text.length;
    } else if (c.eat('inquant ')) {
      const q = c.json() as Omit<DataflowGraph['inputQuant'][number], 'qtype'> & { qtype: string };
      df.inputQuant.push({ ...q, qtype: parseQType(q.qtype) });
    } else if (c.eat('outaffine ')) df.outputAffine.push(c.json() as DataflowGraph['outputAffine'][number]);
    else if (c.text.startsWith('  const ')) {
      const layer = df.layers[df.layers.length - 1];
      if (!layer) c.error('a const line must follow its layer');
      const [k, v] = parseConst(c);
      layer.consts[k] = v;
    } else df.layers.push(parseLayer(c));
    if (!c.done()) c.error(`unexpected text at column ${c.pos + 1}`);
  });
  return df;
}
