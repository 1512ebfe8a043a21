// Fault injection between the HIL runner and a board: a Transport wrapper that corrupts or drops
// bytes, stalls the link or cuts it, at chosen requests. Faults are keyed by the index of the
// runner's write (one write = one request frame, retries included), and the device's reply to
// request k is every byte it sends between write k and write k+1 (one request is outstanding at a
// time). Positions inside a frame come from a seeded generator, so a run is reproducible.
import { fail } from '../diag/index.ts';
import { TransportEvents, type Transport } from './transport.ts';
import { mulberry32 as rng } from '../util/random.ts';

export const faultKinds = ['flip-request', 'flip-response', 'drop-request', 'drop-response', 'stall', 'disconnect'] as const;
export type FaultKind = (typeof faultKinds)[number];

export interface Fault {
  kind: FaultKind;
  /** Requests (write indices, 0-based) the fault hits; … */
  at?: number[];
  /** … or every n-th request (the n-th, 2n-th, …; 1 = all). */
  every?: number;
  /** stall: how long the link holds every byte in both directions (Infinity: for ever). */
  ms?: number;
}

/**
 * `kind@3,7` (requests 3 and 7), `kind%5` (every 5th request), stall with `=ms` or `=forever`:
 * `flip-response%4`, `stall@10=1500`, `disconnect@20`.
 */
export function parseFault(spec: string): Fault {
  const m = /^([a-z-]+)(?:@(\d+(?:,\d+)*)|%(\d+))(?:=(\d+|forever))?$/.exec(spec);
  const bad = (): never => fail('BadArgument', `--fault must look like kind@N[,N…] or kind%N (stall also =ms or =forever), kind one of ${faultKinds.join(', ')}; not '${spec}'`);
  if (!m || !(faultKinds as readonly string[]).includes(m[1])) return bad();
  const kind = m[1] as FaultKind;
  if ((m[4] !== undefined) !== (kind === 'stall')) return bad();
  const fault: Fault = { kind };
  if (m[2] !== undefined) fault.at = m[2].split(',').map(Number);
  else {
    fault.every = Number(m[3]);
    if (fault.every < 1) return bad();
  }
  if (kind === 'stall') fault.ms = m[4] === 'forever' ? Infinity : Number(m[4]);
  return fault;
}

function hits(f: Fault, request: number): boolean {
  return f.at ? f.at.includes(request) : f.every !== undefined && (request + 1) % f.every === 0;
}


export interface FaultOptions {
  seed?: number;
  /** Bytes of a full response frame: response faults pick a byte inside it. */
  replyBytes: number;
}

/** What the wrapper did, for tests and the report. */
export type FaultCounts = Record<FaultKind, number>;

export class FaultyTransport implements Transport {
  readonly name: string;
  readonly bytesPerSecond?: number;
  get deviceCycles() {
    return this.inner.deviceCycles;
  }
  readonly injected: FaultCounts = Object.fromEntries(faultKinds.map((k) => [k, 0])) as FaultCounts;
  private readonly events = new TransportEvents();
  private readonly random: () => number;
  private request = -1;
  /** The fault planned for the current reply: the byte index it hits. */
  private replyFault?: { kind: 'flip-response' | 'drop-response'; byte: number; bit: number };
  private replyOffset = 0;
  private stalledUntil = -Infinity;
  private held: { toDevice: boolean; bytes: Uint8Array }[] = [];
  private releaseTimer?: NodeJS.Timeout;

  constructor(private readonly inner: Transport, private readonly faults: Fault[], private readonly opts: FaultOptions) {
    this.name = inner.name;
    this.bytesPerSecond = inner.bytesPerSecond;
    this.random = rng(opts.seed ?? 1);
    inner.onData((b) => this.fromDevice(b));
    inner.onClose((r) => {
      clearTimeout(this.releaseTimer);
      this.events.emitClose(r);
    });
  }

  private pick(n: number): number {
    return Math.floor(this.random() * n);
  }

  write(bytes: Uint8Array): void {
    this.request++;
    const k = this.request;
    let frame = Uint8Array.from(bytes);
    this.replyFault = undefined;
    this.replyOffset = 0;
    for (const f of this.faults) {
      if (!hits(f, k)) continue;
      this.injected[f.kind]++;
      switch (f.kind) {
        case 'flip-request':
          frame[this.pick(frame.length)] ^= 1 << this.pick(8);
          break;
        case 'drop-request': {
          const i = this.pick(frame.length);
          frame = Uint8Array.from([...frame.subarray(0, i), ...frame.subarray(i + 1)]);
          break;
        }
        case 'flip-response':
        case 'drop-response':
          this.replyFault = { kind: f.kind, byte: this.pick(this.opts.replyBytes), bit: this.pick(8) };
          break;
        case 'stall':
          this.stalledUntil = performance.now() + (f.ms ?? Infinity);
          if (Number.isFinite(f.ms)) {
            clearTimeout(this.releaseTimer);
            this.releaseTimer = setTimeout(() => this.release(), f.ms);
          }
          break;
        case 'disconnect':
          this.inner.destroy();
          return;
      }
    }
    this.pass(true, frame);
  }

  private fromDevice(bytes: Uint8Array): void {
    let out = Uint8Array.from(bytes);
    const f = this.replyFault;
    if (f && f.byte >= this.replyOffset && f.byte < this.replyOffset + out.length) {
      const i = f.byte - this.replyOffset;
      if (f.kind === 'flip-response') out[i] ^= 1 << f.bit;
      else out = Uint8Array.from([...out.subarray(0, i), ...out.subarray(i + 1)]);
      this.replyFault = undefined;
    }
    this.replyOffset += bytes.length;
    this.pass(false, out);
  }

  /** Delivers bytes, or holds them while the link is stalled. */
  private pass(toDevice: boolean, bytes: Uint8Array): void {
    if (performance.now() < this.stalledUntil || this.held.length > 0) {
      this.held.push({ toDevice, bytes });
      return;
    }
    if (toDevice) this.inner.write(bytes);
    else this.events.emitData(bytes);
  }

  private release(): void {
    const held = this.held;
    this.held = [];
    this.stalledUntil = -Infinity;
    for (const h of held) this.pass(h.toDevice, h.bytes);
  }

  onData(l: (b: Uint8Array) => void): void {
    this.events.onData(l);
  }

  onClose(l: (r: string) => void): void {
    this.events.onClose(l);
  }

  async close(): Promise<void> {
    clearTimeout(this.releaseTimer);
    await this.inner.close();
  }

  destroy(): void {
    clearTimeout(this.releaseTimer);
    this.inner.destroy();
  }
}
