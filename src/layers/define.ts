// One hardware layer kind = one typed object: attribute schema and checks, stream ports, the exact
// integer semantics (`execute`, THE definition the RTL must equal), the cycle model, and how it binds
// to the hand-written RTL in hw/. Layers describe their binding; codegen does the writing.
import { fail, InternalError } from '../diag/index.ts';
import { allows, bitWidth, parseQType, qtypeName, range, type QType } from '../ir/datatype.ts';
import type { Layer } from '../ir/dataflow.ts';
import type { CostTerms, Params } from './cost/terms.ts';

// ---- attribute schema -------------------------------------------------------------------------

export interface IntSpec { type: 'int'; min?: number; default?: number }
export interface QTypeSpec { type: 'qtype' }
/** One of a few names, e.g. Requant's round: 'floor' | 'half-even'; absent = the default. */
export interface OneOfSpec<T extends string = string> { type: 'oneOf'; values: readonly T[]; default: T }
export type AttrSpec = IntSpec | QTypeSpec | OneOfSpec;
export type AttrSchema = Record<string, AttrSpec>;
/** The parsed attributes: ints as numbers, datatypes (written as 'INT4', 'BIPOLAR', … in JSON) as QType, names as strings. */
export type AttrsOf<S extends AttrSchema> = { [K in keyof S]: AttrValue<S[K]> };
/** One attribute's parsed value; distributes over a union, so any kind's attrs (AnyAttrs) are names to number | string | QType. */
type AttrValue<T extends AttrSpec> = T extends QTypeSpec ? QType : T extends OneOfSpec<infer U> ? U : number;
/** The attributes of a layer whose kind is known only by name (the registry's view). */
export type AnyAttrs = AttrsOf<AttrSchema>;

export const int = (opts: { min?: number; default?: number } = {}): IntSpec => ({ type: 'int', ...opts });
export const dtype = (): QTypeSpec => ({ type: 'qtype' });
export const oneOf = <T extends string>(values: readonly T[], dflt: T): OneOfSpec<T> => ({ type: 'oneOf', values, default: dflt });

/** A stream port of a layer: element type, elements per inference, elements per beat. */
export interface Port { qtype: QType; elems: number; fold: number }

/** Verilog parameter values: numbers, or raw Verilog literal text (`bits`: its width, for vectors). */
export type ParamValue = number | { verilog: string; bits?: number };

/**
 * The widest constant a generated design may hold (Verilator's --max-num-width default; Icarus and
 * Yosys take more). Layers put wider tables in $readmemh files; `checkLiteralWidths` enforces it.
 */
export const MAX_LITERAL_BITS = 65536;

/** A layer whose rendered constant is wider than MAX_LITERAL_BITS is a kiln bug, caught before the tools see it. */
export function checkLiteralWidths(layer: string, params: Record<string, ParamValue>): void {
  for (const [name, v] of Object.entries(params)) {
    const bits = typeof v === 'number' ? 0 : v.bits ?? 0;
    if (bits > MAX_LITERAL_BITS) {
      throw new InternalError(`layer '${layer}': parameter ${name} is a ${bits}-bit constant, over the ${MAX_LITERAL_BITS} bits Verilator accepts; the layer must store it in a memory file`);
    }
  }
}

export interface RtlContext {
  /** Registers a `$readmemh` file for this layer and returns its path (relative to the output dir). */
  memFile(suffix: string, contents: string): string;
}

export interface RtlBinding<A> {
  /** Module name in hw/ (the generated wrapper is `<kind>_<layer>`). */
  module: string;
  /** Files under hw/ this module needs, in compile order. */
  files: string[];
  params(a: A, consts: Record<string, number[]>, ctx: RtlContext): Record<string, ParamValue>;
  /**
   * Optional: the layer's core module as generated Verilog (module name `module`), for a structure
   * hw/ cannot parameterize (the unrolled MVU's adder graph); codegen writes it beside the wrapper.
   */
  source?(a: A, consts: Record<string, number[]>, module: string): string | undefined;
  /** Optional: a different module (and files) for some attrs, e.g. the MVU's sparse mode. */
  variant?(a: A, consts: Record<string, number[]>): { module: string; files: string[] } | undefined;
}

export interface LayerSpec<S extends AttrSchema> {
  kind: string;
  attrs: S;
  /** Named constant arrays and their expected length. */
  consts: (a: AttrsOf<S>) => Record<string, number>;
  /** Non-folding consistency checks: return an error message ("X must be Y, not Z") or undefined. */
  check?: (a: AttrsOf<S>, consts: Record<string, number[]>) => string | undefined;
  /** Folding checks (pe/simd); errors are KLN2002 BadFolding. */
  checkFolding: (a: AttrsOf<S>) => string | undefined;
  streams: (a: AttrsOf<S>) => { in: Port[]; out: Port[] };
  /** The exact integer semantics: one inference, element values (not codes) in, values out. */
  execute: (a: AttrsOf<S>, inputs: number[][], consts: Record<string, number[]>) => number[][];
  /**
   * Optional: the same semantics prepared once per layer for many inferences (constants in typed
   * arrays, index tables, sorted searches); the reference executor (src/exec/dataflow.ts) runs this.
   * A kind that has one defines `execute` from it (`executeOf`), so there is one definition.
   */
  kernel?: (a: AttrsOf<S>, consts: Record<string, number[]>) => Kernel;
  /** Steady-state cycles per inference when never stalled. */
  cycles: (a: AttrsOf<S>) => number;
  /**
   * First-inference timing, no back-pressure: given the cycles at which the first and the last input
   * beat arrive, the cycles at which the first and the last output beat leave. Chained along the
   * network this gives the first-output latency estimate.
   */
  timing: (a: AttrsOf<S>, firstIn: number, lastIn: number) => [number, number];
  /**
   * Optional beat-level version of `timing` (added for the bursty streams of convolutions): given the
   * cycle every input beat arrives (per input port), the cycle every output beat leaves (per output
   * port), no back-pressure. Codegen uses it where present and spreads `timing`'s first/last output
   * evenly otherwise; it must agree with `timing` on the first and last beat.
   */
  schedule?: (a: AttrsOf<S>, arrivals: number[][]) => Schedule;
  /** How the layer holds data back, for the analytic FIFO sizing (src/dataflow/fifo-sizing.ts). */
  buffering?: Buffering<AttrsOf<S>>;
  rtl: RtlBinding<AttrsOf<S>>;
  /**
   * The resource cost form (cost/<kind>.ts): the features and inventory of what the RTL builds, given
   * the numeric parameters `rtl.params` gives this layer; src/estimate/ weighs them by the fitted
   * coefficients (cost/coefficients.json).
   */
  cost: (a: AttrsOf<S>, consts: Record<string, number[]>, params: Params) => CostTerms;
  /**
   * Optional: attributes that pick one of several implementations of the same function (Threshold's
   * impl: 'parallel' | 'search'), with their values. Folding takes the value the folding JSON names,
   * else the one the layer's attrs name, else the cheapest by the cost form (src/dataflow/forms.ts).
   */
  forms?: Record<string, readonly string[]>;
  /** Optional: form values that are only taken when named (folding JSON or attrs), never picked by cost. */
  formsNamedOnly?: Record<string, readonly string[]>;
}

/** One inference through a prepared layer: element values per input port → per output port. Inputs are never written. */
export type Kernel = (inputs: readonly ArrayLike<number>[]) => ArrayLike<number>[];

/** `execute` from a kernel: prepared for the one call, outputs as plain arrays. */
export function executeOf<A>(kernel: (a: A, consts: Record<string, number[]>) => Kernel) {
  return (a: A, inputs: number[][], consts: Record<string, number[]>): number[][] => kernel(a, consts)(inputs).map((v) => Array.from(v));
}

/** Output element i = input element index[i], or `fill` where index[i] < 0 (windows, padding). */
export function gather(index: Int32Array, fill = 0): Kernel {
  return ([x]) => {
    const y = new Float64Array(index.length);
    for (let i = 0; i < index.length; i++) {
      const j = index[i];
      y[i] = j < 0 ? fill : x[j];
    }
    return [y];
  };
}

/** The identity on every port (FIFOs, width converters): beats regroup, values pass unchanged. */
export const passThrough = (): Kernel => (inputs) => [...inputs];

/**
 * A layer's data dependencies and internal buffering, as src/dataflow/fifo-sizing.ts uses them to size
 * bypass and window FIFOs. Every field is optional; absent ones take the conservative default named.
 */
export interface Buffering<A> {
  /**
   * need(e): the largest element of input `port` that output element e (of output 0) depends on,
   * non-decreasing in e; a function or a table over the output elements. Absent: the whole input.
   */
  need?: (a: A, port: number) => ((e: number) => number) | Int32Array;
  /**
   * How far input `port` can run ahead of what the current output needs, in input elements (its
   * line buffer, input vector, …; `inFold` = the port's elements per beat). Absent: two input beats.
   */
  ahead?: (a: A, port: number, inFold: number) => number;
  /** Element i → element i through one register stage: a bypass FIFO may move across it onto narrower codes. */
  elementwise?: boolean;
  /**
   * A stall at its output reaches its input within a beat or an input vector (register stages, a
   * FIFO, an MVU's one vector ahead), so a layer at the II before it sees the stall (window FIFOs).
   */
  passesStalls?: boolean;
  /**
   * Output beats it emits back to back while its input waits (hw/window_reduce: a pixel's channels/pe
   * beats with its last tap). A reader downstream that drains them slower stalls it (burst FIFOs).
   */
  burst?: (a: A) => number;
  /**
   * Output element e is input element e (transformed), a few beats behind: a burst reaches its
   * output as one, so the burst FIFO rule looks through it to the reader behind.
   */
  inOrder?: boolean;
}

/** Output element e needs input element e (element-wise and branch kinds). */
export const sameElement = (): ((e: number) => number) => (e) => e;
/** Element i → element i through one register stage (Threshold, Requant). */
export const elementwiseBuffering: Buffering<unknown> = { need: sameElement, elementwise: true, passesStalls: true, inOrder: true };

export interface Schedule {
  /** Departure cycle of every beat, per output port. */
  out: number[][];
  /** Cycle input 0's beat 0 is taken when that is later than its arrival (a Pad emits leading padding first). */
  firstTaken?: number;
}

/** Beats through one register stage: each leaves `delay` cycles after it arrives, at most one per cycle. */
export function registerStage(arrivals: readonly number[], delay = 1): number[] {
  const out: number[] = [];
  for (let j = 0; j < arrivals.length; j++) out.push(Math.max(arrivals[j] + delay, j > 0 ? out[j - 1] + 1 : -Infinity));
  return out;
}

export interface LayerKind<A = AnyAttrs> {
  kind: string;
  schema: AttrSchema;
  /** Parses and checks a layer's attrs and consts; throws KilnError (BadAttribute / BadFolding). */
  parse(layer: Pick<Layer, 'name' | 'attrs' | 'consts'>): A;
  spec: LayerSpec<AttrSchema>;
}

function parseAttrs<S extends AttrSchema>(schema: S, raw: Record<string, unknown>, where: string): AttrsOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const v = raw[name];
    if (spec.type === 'int') {
      const val = v === undefined ? spec.default : v;
      if (typeof val !== 'number' || !Number.isInteger(val)) {
        fail('BadAttribute', `${name} must be an integer, not ${JSON.stringify(v)}`, where);
      }
      if (spec.min !== undefined && val < spec.min) fail('BadAttribute', `${name} must be at least ${spec.min}, not ${val}`, where);
      out[name] = val;
    } else if (spec.type === 'oneOf') {
      const val = v === undefined ? spec.default : v;
      if (typeof val !== 'string' || !spec.values.includes(val)) fail('BadAttribute', `${name} must be ${spec.values.map((x) => `'${x}'`).join(' or ')}, not ${JSON.stringify(v)}`, where);
      out[name] = val;
    } else {
      if (typeof v !== 'string') fail('BadAttribute', `${name} must be a datatype name, not ${JSON.stringify(v)}`, where);
      const t = parseQType(v);
      if (t.kind === 'FLOAT32' || t.kind === 'FIXED') fail('BadAttribute', `${name} must be an integer datatype, not ${v}`, where);
      out[name] = t;
    }
  }
  for (const name of Object.keys(raw)) {
    if (!(name in schema)) fail('BadAttribute', `unknown attribute '${name}' (expected ${Object.keys(schema).join(', ')})`, where);
  }
  return out as AttrsOf<S>;
}

export function defineLayer<S extends AttrSchema>(spec: LayerSpec<S>): LayerKind<AttrsOf<S>> {
  return {
    kind: spec.kind,
    schema: spec.attrs,
    // The registry's view: every function takes AnyAttrs; sound because callers only pass what parse() returned.
    spec: spec as unknown as LayerSpec<AttrSchema>,
    parse(layer) {
      const a = parseAttrs(spec.attrs, layer.attrs, layer.name);
      for (const [name, len] of Object.entries(spec.consts(a))) {
        const c = layer.consts[name];
        if (!Array.isArray(c)) fail('BadAttribute', `constant '${name}' is missing`, layer.name);
        if (c.length !== len) fail('BadAttribute', `constant '${name}' must have ${len} values, not ${c.length}`, layer.name);
        if (!c.every((x) => Number.isSafeInteger(x))) fail('BadAttribute', `constant '${name}' must hold integers`, layer.name);
      }
      const msg = spec.check?.(a, layer.consts);
      if (msg) fail('BadAttribute', msg, layer.name);
      const fold = spec.checkFolding(a);
      if (fold) fail('BadFolding', fold, layer.name);
      return a;
    },
  };
}

// ---- helpers shared by the layer files -----------------------------------------------------------

/** "pe must divide 64, not 5" */
export function mustDivide(what: string, n: number, d: number): string | undefined {
  return n % d === 0 ? undefined : `${what} must divide ${n}, not ${d}`;
}

/** First value not allowed by t, as an error message. */
export function checkValues(what: string, t: QType, values: readonly number[]): string | undefined {
  // Integer kinds: allows() is "an integer in range"; the range is computed once (weight tensors are large).
  const [lo, hi] = range(t);
  const integral = t.kind === 'INT' || t.kind === 'BINARY' || t.kind === 'TERNARY';
  const bad = values.find((v) => (integral ? !(v >= lo && v <= hi && Number.isInteger(v)) : !allows(t, v)));
  return bad === undefined ? undefined : `${what} must be ${qtypeName(t)} values, not ${bad}`;
}

/** Hardware code of a value: two's complement / unsigned bits; BIPOLAR 1 = +1, 0 = -1. */
export function encode(t: QType, v: number): number {
  if (t.kind === 'BIPOLAR') return v > 0 ? 1 : 0;
  const w = bitWidth(t);
  return v < 0 ? v + 2 ** w : v;
}

/** Value of a hardware code (inverse of encode). */
export function decode(t: QType, code: number): number {
  if (t.kind === 'BIPOLAR') return code ? 1 : -1;
  const w = bitWidth(t);
  const signed = t.kind === 'TERNARY' || (t.kind === 'INT' && t.signed);
  return signed && code >= 2 ** (w - 1) ? code - 2 ** w : code;
}

/** How the RTL interprets codes of a type: 0 unsigned, 1 signed two's complement, 2 bipolar. */
export function codeKind(t: QType): number {
  if (t.kind === 'BIPOLAR') return 2;
  return t.kind === 'TERNARY' || (t.kind === 'INT' && t.signed) ? 1 : 0;
}

/** Bits of a signed two's complement number holding every value in [lo, hi]. */
export function signedBits(lo: number, hi: number): number {
  let bits = 1;
  while (-(2 ** (bits - 1)) > lo || 2 ** (bits - 1) - 1 < hi) bits++;
  return bits;
}

/** Hex digits of `values` packed `width` bits each (two's complement), element 0 in the LSBs, zero-padded. */
export function packHex(values: readonly number[], width: number): string {
  let acc = 0n; // BigInt keeps wide vectors exact
  const mask = (1n << BigInt(width)) - 1n;
  for (let i = values.length - 1; i >= 0; i--) acc = (acc << BigInt(width)) | (BigInt(values[i]) & mask);
  return acc.toString(16).padStart(Math.ceil((values.length * width) / 4), '0');
}

/** A Verilog constant vector literal of `values` (see packHex). */
export function packVector(values: readonly number[], width: number): { verilog: string; bits: number } {
  const bits = values.length * width;
  return { verilog: `${bits}'h${packHex(values, width)}`, bits };
}
