// Stimulus and response files of the Verilator harness (format: sim/README.md). Beats pack `fold`
// elements, element i at bits [i*W +: W] (src/ir/dataflow.ts): two's complement for signed types,
// BIPOLAR as one bit (1 = +1, 0 = −1).
import { fail, InternalError } from '../diag/index.ts';
import { parseQType, type QType } from '../ir/datatype.ts';
import type { StreamPort } from './manifest.ts';

interface ElementCodec {
  toBits(v: number): bigint;
  fromBits(b: bigint): number;
}

function elementCodec(port: StreamPort): ElementCodec {
  const qtype: QType = parseQType(port.qtype);
  const w = BigInt(port.elemBits);
  const mask = (1n << w) - 1n;
  if (qtype.kind === 'BIPOLAR') {
    return { toBits: (v) => (v > 0 ? 1n : 0n), fromBits: (b) => (b === 1n ? 1 : -1) };
  }
  const signBit = 1n << (w - 1n);
  return {
    toBits: (v) => BigInt(v) & mask,
    fromBits: port.signed ? (b) => Number(b & signBit ? b - (1n << w) : b) : (b) => Number(b),
  };
}

/** Hex lines (one per beat) for a sequence of inferences, each `numel` element codes. */
export function encodeStimulus(port: StreamPort, inferences: number[][]): string {
  const codec = elementCodec(port);
  const w = BigInt(port.elemBits);
  const perInference = port.fold * port.beatsPerInference;
  const lines: string[] = [];
  inferences.forEach((codes, k) => {
    if (codes.length > perInference) {
      fail('InputMismatch', `inference ${k} has ${codes.length} input elements, the design takes ${perInference}`);
    }
    for (let b = 0; b < port.beatsPerInference; b++) {
      let beat = 0n;
      for (let i = port.fold - 1; i >= 0; i--) {
        const idx = b * port.fold + i;
        beat = (beat << w) | (idx < codes.length ? codec.toBits(codes[idx]) : 0n);
      }
      lines.push(beat.toString(16));
    }
  });
  return lines.join('\n') + '\n';
}

/** A decoder of one beat into its `fold` element values (element 0 in the least significant bits). */
export function beatDecoder(port: StreamPort): (beat: bigint) => number[] {
  const codec = elementCodec(port);
  const w = BigInt(port.elemBits);
  const mask = (1n << w) - 1n;
  return (beat) => {
    const codes: number[] = [];
    for (let i = 0; i < port.fold; i++, beat >>= w) codes.push(codec.fromBits(beat & mask));
    return codes;
  };
}

/** Splits output beats (as read from the response) into inferences of `numel` element codes. */
export function decodeOutputBeats(port: StreamPort, beats: bigint[], numel: number): number[][] {
  const decode = beatDecoder(port);
  const out: number[][] = [];
  for (let start = 0; start + port.beatsPerInference <= beats.length; start += port.beatsPerInference) {
    const codes: number[] = [];
    for (let b = 0; b < port.beatsPerInference; b++) codes.push(...decode(beats[start + b]));
    out.push(codes.slice(0, numel));
  }
  return out;
}

export interface StreamStatus {
  name: string;
  state: 'blocked' | 'starved' | 'idle' | 'moving';
  valid: boolean;
  ready: boolean;
  lastMove: number;
  beats: number;
}

export interface Response {
  /** Cycle each input beat was accepted. */
  inCycles: number[];
  /** Cycle each output beat left, and its data. */
  outCycles: number[];
  outBeats: bigint[];
  /** Present when the watchdog stopped the run. */
  watchdog?: { cycle: number; streams: StreamStatus[] };
  cycleLimit?: number;
  cycles: number;
  /** CPU seconds (user + sys) of the simulator process. */
  cpuSeconds: number;
}

/** Parses the harness's response file. */
export function parseResponse(text: string): Response {
  const r: Response = { inCycles: [], outCycles: [], outBeats: [], cycles: 0, cpuSeconds: 0 };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const f = line.split(' ');
    switch (f[0]) {
      case 'in': r.inCycles.push(Number(f[1])); break;
      case 'out': r.outCycles.push(Number(f[1])); r.outBeats.push(BigInt('0x' + f[2])); break;
      case 'watchdog': r.watchdog = { cycle: Number(f[1]), streams: [] }; break;
      case 'stream':
        r.watchdog?.streams.push({
          name: f[1], state: f[2] as StreamStatus['state'], valid: f[3] === '1', ready: f[4] === '1',
          lastMove: Number(f[5]), beats: Number(f[6]),
        });
        break;
      case 'cyclelimit': r.cycleLimit = Number(f[1]); break;
      case 'cpu': r.cpuSeconds = Number(f[1]); break;
      case 'end': r.cycles = Number(f[1]); break;
      default: throw new InternalError(`unexpected harness response line '${line}'`);
    }
  }
  return r;
}
