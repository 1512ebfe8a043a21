// The HIL runner: sends each input vector in its own request frame, waits for the reply, and
// retries on a NAK, a reply that fails its length or CRC check, or silence; replies carrying
// another request's sequence number (late replies of earlier attempts) are skipped. Every wait has a
// deadline and a closed link ends the run at once, so the runner never hangs.
import { fail } from '../diag/index.ts';
import type { Manifest } from '../sim/manifest.ts';
import { frameGeometry, NAK_REASONS, packInput, ReplyParser, requestFrame, requestFrameBytes, responseFrameBytes, unpackOutput, type Reply } from './protocol.ts';
import type { Transport } from './transport.ts';

export interface RunnerOptions {
  /** Per attempt, on top of the time the frames need on the wire (default 1000 ms). */
  timeoutMs?: number;
  /** Resends per vector after the first attempt (default 3). */
  retries?: number;
  onProgress?: (p: { done: number; total: number; retries: number }) => void;
}

export interface LinkEvents {
  timeouts: number;
  naks: number;
  /** Replies whose CRC check failed (the JSON name predates the CRC). */
  badCrcs: number;
  badLengths: number;
  /** Replies to an earlier attempt, ignored. */
  staleReplies: number;
  /** Bytes that could not belong to a reply (noise, cut frames). */
  skippedBytes: number;
}

export interface RunnerResult {
  outputs: number[][];
  /** Round trip of each vector's successful attempt, milliseconds. */
  roundTripMs: number[];
  /** Attempts each vector took (1 = no retry). */
  attempts: number[];
  /** Sequence number of each vector's successful attempt. */
  seqs: number[];
  events: LinkEvents;
  seconds: number;
}

/** Received bytes, parsed as they come, with a wait that ends on new data, link close or a deadline. */
class Link {
  readonly parser: ReplyParser;
  closedReason?: string;
  lastDataAt = 0;
  private wake?: () => void;

  constructor(t: Transport, responseLength: number) {
    this.parser = new ReplyParser(responseLength);
    t.onData((b) => {
      this.parser.push(b);
      this.lastDataAt = performance.now();
      this.wake?.();
    });
    t.onClose((r) => {
      this.closedReason = r;
      this.wake?.();
    });
  }

  /** Waits until something arrives, the link closes, or `ms` pass. */
  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), Math.max(0, ms));
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
    });
  }

  /** The next reply, or 'timeout' at the deadline. Throws when the link is gone. */
  async nextReply(deadline: number, context: string): Promise<Reply | 'timeout'> {
    for (;;) {
      const r = this.parser.next();
      if (r) return r;
      if (this.closedReason !== undefined) fail('DeviceDisconnected', `${this.closedReason} ${context}`);
      const left = deadline - performance.now();
      if (left <= 0) return 'timeout';
      await this.sleep(left);
    }
  }

  /** Waits until no byte arrived for `quietMs` (the rest of a frame we gave up on), at most until the deadline. */
  async quiet(quietMs: number, deadline: number): Promise<void> {
    for (;;) {
      const now = performance.now();
      const until = Math.min(deadline, this.lastDataAt + quietMs);
      if (now >= until || this.closedReason !== undefined) return;
      await this.sleep(until - now);
    }
  }
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/**
 * Runs `inputs` (input codes per inference) through the device behind `t`; `numel` output
 * elements per inference. Throws KLN3005 when a vector gets no valid reply within its attempts and
 * KLN3006 when the link closes.
 */
export async function runVectors(t: Transport, m: Manifest, inputs: number[][], numel: number, opts: RunnerOptions = {}): Promise<RunnerResult> {
  const g = frameGeometry(m);
  if (g.requestLength > 0xffff || g.responseLength > 0xffff) {
    fail('InputMismatch', `the UART protocol's 16-bit length field cannot carry this design's ${Math.max(g.requestLength, g.responseLength)}-byte frames`);
  }
  const timeoutMs = opts.timeoutMs ?? 1000;
  const retries = opts.retries ?? 3;
  const wireMs = t.bytesPerSecond ? (1000 * (requestFrameBytes(g) + responseFrameBytes(g))) / t.bytesPerSecond : 0;
  const quietMs = 20 + (t.bytesPerSecond ? (1000 * 4) / t.bytesPerSecond : 0);
  const link = new Link(t, g.responseLength);
  const events: LinkEvents = { timeouts: 0, naks: 0, badCrcs: 0, badLengths: 0, staleReplies: 0, skippedBytes: 0 };
  const outputs: number[][] = [];
  const roundTripMs: number[] = [];
  const attempts: number[] = [];
  const seqs: number[] = [];
  let seq = 0;
  let retriesSoFar = 0;
  const started = performance.now();

  for (let k = 0; k < inputs.length; k++) {
    const payload = packInput(m, inputs[k]);
    const problems: string[] = [];
    let done = false;
    for (let attempt = 0; attempt <= retries && !done; attempt++) {
      if (attempt > 0) retriesSoFar++;
      const mySeq = seq;
      seq = (seq + 1) & 0xff; // a fresh number per attempt: a late reply to an old attempt cannot be taken for this one
      link.parser.clear();
      const sentAt = performance.now();
      const deadline = sentAt + timeoutMs + wireMs;
      t.write(requestFrame(mySeq, payload));
      const context = `while waiting for the reply to vector ${k} (attempt ${attempt + 1})`;
      for (;;) {
        const r = await link.nextReply(deadline, context);
        if (r === 'timeout') {
          events.timeouts++;
          problems.push(`no reply within ${Math.round(timeoutMs + wireMs)} ms`);
          break;
        }
        if (r.seq !== mySeq) {
          // An earlier attempt's reply, or a frame whose sequence byte was hit: not ours to judge.
          events.staleReplies++;
          continue;
        }
        if (r.kind === 'response') {
          outputs.push(unpackOutput(m, r.payload, numel));
          roundTripMs.push(performance.now() - sentAt);
          attempts.push(attempt + 1);
          seqs.push(mySeq);
          done = true;
          break;
        }
        if (r.kind === 'nak') {
          events.naks++;
          problems.push(`NAK (${NAK_REASONS[r.code] ?? `code ${r.code}`})`);
          break;
        }
        if (r.reason === 'crc') events.badCrcs++;
        else events.badLengths++;
        problems.push(r.reason === 'crc' ? 'reply with a bad CRC' : 'reply with a wrong length');
        // The device may still be sending the frame we gave up on; let it finish before resending.
        await link.quiet(quietMs, deadline);
        break;
      }
    }
    if (!done) {
      const counts = new Map<string, number>();
      for (const p of problems) counts.set(p, (counts.get(p) ?? 0) + 1);
      const summary = [...counts].map(([p, n]) => `${n}× ${p}`).join(', ');
      const hint = problems.every((p) => p.startsWith('NAK (wrong length)'))
        ? 'is the board programmed with this design?'
        : 'check the board is programmed with this design, the port and the baud rate';
      fail('DeviceNoResponse', `vector ${k}: no valid reply from ${t.name} after ${plural(retries + 1, 'attempt')} (${summary}); ${hint}`);
    }
    opts.onProgress?.({ done: k + 1, total: inputs.length, retries: retriesSoFar });
  }
  events.skippedBytes = link.parser.skipped;
  return { outputs, roundTripMs, attempts, seqs, events, seconds: (performance.now() - started) / 1000 };
}
