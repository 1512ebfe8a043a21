// The host side of the framed UART protocol of kiln_uart_top (hw/uart/README.md): request frames,
// payload packing (a beat is its ceil(W/8) bytes, least significant first, packed as `kiln sim`
// packs stimulus beats) and an incremental parser for what the device sends back.
import { decodeOutputBeats, encodeStimulus } from '../sim/stimulus.ts';
import type { Manifest } from '../sim/manifest.ts';

export const SOF_REQUEST = 0xa5;
export const SOF_RESPONSE = 0x5a;
export const SOF_NAK = 0xee;
export const NAK_REASONS: Record<number, string> = { 1: 'bad CRC', 2: 'wrong length' };

/** Byte layout of one inference on the wire, from the compiled design's manifest. */
export interface FrameGeometry {
  inBytesPerBeat: number;
  outBytesPerBeat: number;
  /** Payload lengths of a request and of a response. */
  requestLength: number;
  responseLength: number;
}

export function frameGeometry(m: Manifest): FrameGeometry {
  const inBytesPerBeat = Math.ceil(m.inW / 8);
  const outBytesPerBeat = Math.ceil(m.outW / 8);
  return {
    inBytesPerBeat,
    outBytesPerBeat,
    requestLength: inBytesPerBeat * m.input.beatsPerInference,
    responseLength: outBytesPerBeat * m.output.beatsPerInference,
  };
}

/** Bytes a frame adds around its payload: start, sequence, length (2), CRC (2). */
const FRAME_OVERHEAD = 6;
/** Bytes of a whole request / response frame. */
export const requestFrameBytes = (g: FrameGeometry): number => g.requestLength + FRAME_OVERHEAD;
export const responseFrameBytes = (g: FrameGeometry): number => g.responseLength + FRAME_OVERHEAD;

/**
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor; 0x29B1 for "123456789"),
 * bit by bit: frames are short and this is the reference the RTL's byte-wise update is tested against.
 * Continuing over a CRC appended high byte first gives 0, which is how frames are checked.
 */
export function crc16(bytes: ArrayLike<number>, crc = 0xffff): number {
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i] << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** `body` (a frame's bytes after the start byte) followed by its CRC, high byte first. */
export function withCrc(body: ArrayLike<number>): number[] {
  const crc = crc16(body);
  return [...Array.from(body), crc >> 8, crc & 0xff];
}

/** A request frame: A5, SEQ, LEN (little-endian), payload, CRC (high byte first). */
export function requestFrame(seq: number, payload: Uint8Array): Uint8Array {
  const len = payload.length;
  return Uint8Array.from([SOF_REQUEST, ...withCrc([seq & 0xff, len & 0xff, (len >> 8) & 0xff, ...payload])]);
}

/** The request payload of one inference's input codes. */
export function packInput(m: Manifest, codes: number[]): Uint8Array {
  const g = frameGeometry(m);
  const beats = encodeStimulus(m.input, [codes]).trim().split('\n').map((h) => BigInt(`0x${h}`));
  const out = new Uint8Array(g.requestLength);
  beats.forEach((beat, b) => {
    for (let i = 0; i < g.inBytesPerBeat; i++) out[b * g.inBytesPerBeat + i] = Number((beat >> BigInt(8 * i)) & 0xffn);
  });
  return out;
}

/** Output codes of one inference from a response payload (`numel` elements, padding dropped). */
export function unpackOutput(m: Manifest, payload: Uint8Array, numel: number): number[] {
  const g = frameGeometry(m);
  const beats: bigint[] = [];
  for (let b = 0; b < m.output.beatsPerInference; b++) {
    let beat = 0n;
    for (let i = g.outBytesPerBeat - 1; i >= 0; i--) beat = (beat << 8n) | BigInt(payload[b * g.outBytesPerBeat + i]);
    beats.push(beat & ((1n << BigInt(m.outW)) - 1n));
  }
  return decodeOutputBeats(m.output, beats, numel)[0];
}

export type Reply =
  | { kind: 'response'; seq: number; payload: Uint8Array }
  | { kind: 'nak'; seq: number; code: number }
  /** A response frame that cannot be trusted: its length field or its CRC is wrong. */
  | { kind: 'corrupt'; seq: number; reason: 'length' | 'crc' };

/**
 * Splits the device's byte stream into replies. Bytes that cannot start a reply are skipped (and
 * counted): after a corrupted or truncated frame the parser resynchronises on the next start byte.
 */
export class ReplyParser {
  private buf: number[] = [];
  skipped = 0;

  constructor(private readonly responseLength: number) {}

  push(bytes: Uint8Array): void {
    for (const b of bytes) this.buf.push(b);
  }

  /** Forgets everything received so far (before a new attempt). */
  clear(): void {
    this.skipped += this.buf.length;
    this.buf = [];
  }

  get pending(): number {
    return this.buf.length;
  }

  /** The next complete reply, or undefined when more bytes are needed. */
  next(): Reply | undefined {
    let start = 0;
    while (start < this.buf.length && this.buf[start] !== SOF_RESPONSE && this.buf[start] !== SOF_NAK) start++;
    if (start > 0) {
      this.buf.splice(0, start);
      this.skipped += start;
    }
    const b = this.buf;
    if (b.length === 0) return undefined;
    if (b[0] === SOF_NAK) {
      if (b.length < 3) return undefined;
      const [, seq, code] = b.splice(0, 3);
      return { kind: 'nak', seq, code };
    }
    if (b.length < 4) return undefined;
    const seq = b[1];
    if ((b[2] | (b[3] << 8)) !== this.responseLength) {
      // Not this design's response (a corrupted length, or a 0x5A inside other bytes): resync after it.
      b.shift();
      this.skipped++;
      return { kind: 'corrupt', seq, reason: 'length' };
    }
    const total = this.responseLength + FRAME_OVERHEAD;
    if (b.length < total) return undefined;
    const frame = b.splice(0, total);
    if (crc16(frame.slice(1)) !== 0) return { kind: 'corrupt', seq, reason: 'crc' };
    return { kind: 'response', seq, payload: Uint8Array.from(frame.slice(4, total - 2)) };
  }
}
