// Reads the textual IR written by printGraph back into a Graph (exactly: same bytes when printed).
import { fail } from '../diag/index.ts';
import { parseQType } from './datatype.ts';
import { emptyGraph, type AttrValue, type Dim, type Graph, type Node, type ValueInfo } from './graph.ts';
import { IR_MAGIC, BYTES } from './print.ts';
import { makeTensor, numel, readElement, type DType, type Tensor } from './tensor.ts';

const DTYPES = new Set<string>(Object.keys(BYTES));

type Tok =
  | { t: 'name'; v: string } // %name
  | { t: 'node'; v: string } // @name
  | { t: 'str'; v: string }
  | { t: 'b64'; v: string }
  | { t: 'num'; v: number; text: string }
  | { t: 'id'; v: string }
  | { t: 'p'; v: string }; // punctuation

class Line {
  private pos = 0;
  private readonly toks: Tok[];
  constructor(readonly text: string, readonly lineNo: number) {
    this.toks = this.lex();
  }

  error(msg: string): never {
    fail('BadIrText', `line ${this.lineNo}: ${msg}: ${this.text.length > 120 ? this.text.slice(0, 117) + '...' : this.text}`);
  }

  private readString(i: number): [string, number] {
    // JSON string starting at text[i] === '"'.
    let j = i + 1;
    while (j < this.text.length && this.text[j] !== '"') j += this.text[j] === '\\' ? 2 : 1;
    if (j >= this.text.length) this.error('unterminated string');
    try {
      return [JSON.parse(this.text.slice(i, j + 1)) as string, j + 1];
    } catch {
      this.error('bad string escape');
    }
  }

  private lex(): Tok[] {
    const s = this.text;
    const out: Tok[] = [];
    let i = 0;
    const plain = /[A-Za-z0-9_.\-/:]/;
    while (i < s.length) {
      const c = s[i];
      if (c === ' ' || c === '\t') { i++; continue; }
      if (c === '%' || c === '@') {
        const kind = c === '%' ? 'name' : 'node';
        if (s[i + 1] === '"') {
          const [v, j] = this.readString(i + 1);
          out.push({ t: kind, v });
          i = j;
        } else {
          let j = i + 1;
          while (j < s.length && plain.test(s[j])) j++;
          while (j > i + 1 && s[j - 1] === ':') j--; // `%x: float32` — a plain name never ends in ':'
          if (j === i + 1) this.error(`empty name after '${c}'`);
          out.push({ t: kind, v: s.slice(i + 1, j) });
          i = j;
        }
        continue;
      }
      if (c === '"') {
        const [v, j] = this.readString(i);
        out.push({ t: 'str', v });
        i = j;
        continue;
      }
      if (s.startsWith('b64"', i)) {
        const j = s.indexOf('"', i + 4);
        if (j < 0) this.error('unterminated base64 data');
        out.push({ t: 'b64', v: s.slice(i + 4, j) });
        i = j + 1;
        continue;
      }
      const num = /^-?(?:\d+(?:\.\d*)?(?:e[+-]?\d+)?|inf|nan)/.exec(s.slice(i));
      if (num && (c === '-' || /\d/.test(c) || ((num[0] === 'inf' || num[0] === 'nan') && !/[A-Za-z0-9_]/.test(s[i + num[0].length] ?? '')))) {
        const text = num[0];
        const body = text.replace(/^-/, '');
        const v = body === 'inf' ? Infinity : body === 'nan' ? NaN : Number(body);
        out.push({ t: 'num', v: text.startsWith('-') ? -v : v, text });
        i += text.length;
        continue;
      }
      const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
      if (id) {
        out.push({ t: 'id', v: id[0] });
        i += id[0].length;
        continue;
      }
      if ('=,:()[]{}<>'.includes(c)) {
        out.push({ t: 'p', v: c });
        i++;
        continue;
      }
      this.error(`unexpected character '${c}'`);
    }
    return out;
  }

  peek(): Tok | undefined {
    return this.toks[this.pos];
  }
  next(what: string): Tok {
    const t = this.toks[this.pos++];
    if (!t) this.error(`expected ${what} at end of line`);
    return t;
  }
  atEnd(): boolean {
    return this.pos >= this.toks.length;
  }
  isP(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === 'p' && t.v === v;
  }
  expectP(v: string): void {
    const t = this.next(`'${v}'`);
    if (t.t !== 'p' || t.v !== v) this.error(`expected '${v}'`);
  }
  expectId(v?: string): string {
    const t = this.next(v ? `'${v}'` : 'a word');
    if (t.t !== 'id' || (v !== undefined && t.v !== v)) this.error(`expected ${v ? `'${v}'` : 'a word'}`);
    return t.v;
  }
  expectStr(): string {
    const t = this.next('a string');
    if (t.t !== 'str') this.error('expected a quoted string');
    return t.v;
  }
  expectNum(): number {
    const t = this.next('a number');
    if (t.t !== 'num') this.error('expected a number');
    return t.v;
  }
  expectInt(): number {
    const t = this.next('an integer');
    if (t.t !== 'num' || !Number.isInteger(t.v)) this.error('expected an integer');
    return t.v;
  }
  expectName(): string {
    const t = this.next('a %name');
    if (t.t !== 'name') this.error('expected a %name');
    return t.v;
  }
  /** The remaining tokens glued back together (for `FIXED<8,4>`-style type names). */
  restText(): string {
    const parts: string[] = [];
    while (!this.atEnd()) {
      const t = this.next('');
      parts.push(t.t === 'num' ? t.text : t.t === 'p' || t.t === 'id' ? t.v : this.error('expected a datatype'));
    }
    return parts.join('');
  }
  end(): void {
    if (!this.atEnd()) this.error('unexpected text at end of line');
  }
}

function parseType(L: Line): { dtype: DType; shape?: Dim[] } {
  const dt = L.expectId();
  if (!DTYPES.has(dt)) L.error(`unknown element type '${dt}'`);
  if (!L.isP('[')) return { dtype: dt as DType };
  L.expectP('[');
  const shape: Dim[] = [];
  while (!L.isP(']')) {
    const t = L.next('a dimension');
    if (t.t === 'num' && Number.isInteger(t.v) && t.v >= 0) shape.push(t.v);
    else if (t.t === 'id' || t.t === 'str') shape.push(t.v);
    else L.error('expected a dimension');
    if (!L.isP(']')) L.expectP(',');
  }
  L.expectP(']');
  return { dtype: dt as DType, shape };
}

function decodeBytes(L: Line, dtype: DType, shape: number[], b64: string): Tensor {
  const bytes = Buffer.from(b64, 'base64');
  const n = numel(shape);
  const size = BYTES[dtype];
  if (bytes.length !== n * size) L.error(`base64 data has ${bytes.length} bytes, ${dtype}[${shape.join(',')}] needs ${n * size}`);
  const t = makeTensor(dtype, shape);
  const out = t.data as Float64Array;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const o = i * size;
    // The printer stores float16/bfloat16 as float32 and 64-bit integers as float64 (their in-memory
    // form); every other type is its own little-endian bytes.
    switch (dtype) {
      case 'float32': case 'float16': case 'bfloat16': out[i] = dv.getFloat32(o, true); break;
      case 'float64': case 'int64': case 'uint64': out[i] = dv.getFloat64(o, true); break;
      case 'string': break;
      default: out[i] = readElement(dv, dtype, o);
    }
  }
  return t;
}

function parseTensor(L: Line): Tensor {
  const { dtype, shape } = parseType(L);
  if (!shape || shape.some((d) => typeof d !== 'number')) L.error('a constant tensor needs a fixed shape');
  const dims = shape as number[];
  L.expectP('=');
  if (L.peek()?.t === 'b64') return decodeBytes(L, dtype, dims, (L.next('data') as { v: string }).v);
  L.expectP('[');
  const vals: (number | string)[] = [];
  while (!L.isP(']')) {
    const t = L.next('a value');
    if (dtype === 'string' ? t.t !== 'str' : t.t !== 'num') L.error(`expected a ${dtype === 'string' ? 'string' : 'number'}`);
    vals.push((t as { v: number | string }).v);
    if (!L.isP(']')) L.expectP(',');
  }
  L.expectP(']');
  if (vals.length !== numel(dims)) L.error(`${vals.length} values given, shape [${dims.join(',')}] needs ${numel(dims)}`);
  return makeTensor(dtype, dims, vals as number[] | string[]);
}

function parseAttr(L: Line): AttrValue {
  const t = L.peek();
  if (!t) L.error('expected an attribute value');
  if (t.t === 'num') {
    L.next('');
    return /[.e]|inf|nan/.test(t.text) ? { kind: 'float', v: t.v } : { kind: 'int', v: t.v };
  }
  if (t.t === 'str') return { kind: 'string', v: L.expectStr() };
  if (t.t === 'id') {
    const w = L.expectId();
    if (w === 'ints' || w === 'floats' || w === 'strings') {
      L.expectP('[');
      L.expectP(']');
      return { kind: w, v: [] };
    }
    if (w === 'graph') return { kind: 'graph' };
    if (w === 'tensor') {
      L.expectP('(');
      const v = parseTensor(L);
      L.expectP(')');
      return { kind: 'tensor', v };
    }
    L.error(`unknown attribute value '${w}'`);
  }
  L.expectP('[');
  const items: Tok[] = [];
  while (!L.isP(']')) {
    items.push(L.next('a list item'));
    if (!L.isP(']')) L.expectP(',');
  }
  L.expectP(']');
  if (items.every((i) => i.t === 'str')) return { kind: 'strings', v: items.map((i) => i.v as string) };
  if (!items.every((i) => i.t === 'num')) L.error('a list attribute must hold only numbers or only strings');
  const nums = items as Extract<Tok, { t: 'num' }>[];
  const isFloat = nums.some((i) => /[.e]|inf|nan/.test(i.text));
  return isFloat ? { kind: 'floats', v: nums.map((i) => i.v) } : { kind: 'ints', v: nums.map((i) => i.v) };
}

function parseNameList(L: Line, close: (L: Line) => boolean): string[] {
  const names: string[] = [];
  while (!close(L)) {
    const t = L.next('a %name');
    if (t.t === 'name') names.push(t.v);
    else if (t.t === 'id' && t.v === '_') names.push('');
    else L.error('expected a %name or _');
    if (!close(L)) L.expectP(',');
  }
  return names;
}

function parseNode(L: Line): Node {
  let outputs: string[];
  if (L.isP('(')) {
    L.expectP('(');
    L.expectP(')');
    outputs = [];
  } else {
    outputs = parseNameList(L, (l) => l.isP('='));
  }
  L.expectP('=');
  const opTok = L.next('an op name');
  if (opTok.t !== 'id' && opTok.t !== 'str') L.error('expected an op name');
  const op = opTok.v as string;
  let domain = '';
  if (L.isP('[')) {
    L.expectP('[');
    domain = L.expectStr();
    L.expectP(']');
  }
  L.expectP('(');
  const inputs = parseNameList(L, (l) => l.isP(')'));
  L.expectP(')');
  const attrs: Record<string, AttrValue> = {};
  if (L.isP('{')) {
    L.expectP('{');
    while (!L.isP('}')) {
      const k = L.next('an attribute name');
      if (k.t !== 'id' && k.t !== 'str') L.error('expected an attribute name');
      L.expectP('=');
      attrs[k.v as string] = parseAttr(L);
      if (!L.isP('}')) L.expectP(',');
    }
    L.expectP('}');
  }
  const nameTok = L.next('@node-name');
  if (nameTok.t !== 'node') L.error('expected @node-name');
  L.end();
  return { name: nameTok.v, op, domain, inputs, outputs, attrs };
}

function parseValue(L: Line): ValueInfo {
  const name = L.expectName();
  L.expectP(':');
  const { dtype, shape } = parseType(L);
  L.end();
  return shape === undefined ? { name, dtype } : { name, dtype, shape };
}

export function parseGraph(text: string): Graph {
  const lines = text.split(/\r?\n/);
  if (lines[0].trim() !== IR_MAGIC) fail('BadIrText', `line 1: expected '${IR_MAGIC}', not '${lines[0].slice(0, 40)}'`);
  const g = emptyGraph();
  g.opsets = {};
  let sawGraph = false;
  for (let k = 1; k < lines.length; k++) {
    const raw = lines[k];
    if (raw.trim() === '' || raw.trimStart().startsWith('#')) continue;
    const L = new Line(raw, k + 1);
    const first = L.peek();
    if (first?.t === 'id' && first.v !== '_') {
      const kw = L.expectId();
      switch (kw) {
        case 'graph': {
          g.name = L.expectStr();
          L.expectId('ir_version');
          L.expectP('=');
          g.irVersion = L.expectInt();
          L.expectId('producer');
          L.expectP('=');
          g.producer = L.expectStr();
          L.end();
          sawGraph = true;
          break;
        }
        case 'opset': {
          const d = L.expectStr();
          g.opsets[d] = L.expectInt();
          L.end();
          break;
        }
        case 'input': g.inputs.push(parseValue(L)); break;
        case 'output': g.outputs.push(parseValue(L)); break;
        case 'value': {
          const v = parseValue(L);
          g.valueInfo.set(v.name, v);
          break;
        }
        case 'qtype': {
          const name = L.expectName();
          L.expectP(':');
          g.qtypes.set(name, parseQType(L.restText()));
          break;
        }
        case 'init': {
          const name = L.expectName();
          L.expectP(':');
          g.initializers.set(name, parseTensor(L));
          L.end();
          break;
        }
        default: L.error(`unknown line kind '${kw}'`);
      }
      continue;
    }
    g.nodes.push(parseNode(L));
  }
  if (!sawGraph) fail('BadIrText', "missing 'graph' header line");
  return g;
}
