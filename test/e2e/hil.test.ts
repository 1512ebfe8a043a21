// `kiln hil --sim`: the bundled TFC-w1a1 MNIST model on the Verilator virtual board (kiln_uart_top +
// sim/tb_uart_board.cpp) through the real CLI on 100 digits, then each link fault between runner
// and board (corrupted frames both ways, dropped bytes both ways, a stall that ends, a stall that
// does not, a disconnect): the runner recovers with every output equal to the reference, or stops
// with a coded error within a bounded time. A corrupted reply must never be taken for a result.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/diag/index.ts';
import { prepareVirtualBoard, startVirtualBoard } from '../../src/hil/board.ts';
import { FaultyTransport, parseFault, type Fault } from '../../src/hil/faults.ts';
import { runHil } from '../../src/hil/hil.ts';
import { crc16, frameGeometry, ReplyParser, requestFrame, responseFrameBytes, SOF_RESPONSE, withCrc } from '../../src/hil/protocol.ts';
import { TransportEvents, type Transport } from '../../src/hil/transport.ts';
import { decodeNpy } from '../../src/io/npy.ts';
import { readManifest } from '../../src/sim/manifest.ts';
import { kilnAsync, ROOT, tempDir } from '../unit/cli-helpers.ts';

const BIN = join(ROOT, 'bin', 'kiln.js');
const example = join(ROOT, 'examples', 'tfc_w1a1');
const work = tempDir();
const design = join(work, 'tfc');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function kiln(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const digits = decodeNpy(readFileSync(join(example, 'digits100.npy')));
const rows = (n: number) => Array.from({ length: n }, (_, k) => (digits.data as Float64Array).subarray(k * 784, (k + 1) * 784));

beforeAll(async () => {
  const c = kiln(['compile', join(example, 'model.onnx'), '-o', design]);
  expect(c.code, c.stderr).toBe(0);
  // Build the virtual board once (content-hash cache); the tests below start it in milliseconds.
  const board = await startVirtualBoard(design);
  await board.transport.close();
}, 300_000);

/** Runs `n` digits through a fresh virtual board behind the given faults; the elapsed wall time too. */
async function runWithFaults(n: number, faults: Fault[], opts: { timeoutMs: number; retries: number }) {
  const board = await startVirtualBoard(design);
  const g = frameGeometry(readManifest(design));
  const link = new FaultyTransport(board.transport, faults, { seed: 7, replyBytes: responseFrameBytes(g) });
  const t0 = performance.now();
  try {
    const summary = await runHil(design, rows(n), link, opts);
    return { summary, error: undefined, seconds: (performance.now() - t0) / 1000, injected: link.injected };
  } catch (e) {
    if (!(e instanceof KilnError)) throw e;
    return { summary: undefined, error: e, seconds: (performance.now() - t0) / 1000, injected: link.injected };
  } finally {
    await link.close();
  }
}

describe('kiln hil --sim (virtual board)', () => {
  it('100 MNIST digits of tfc_w1a1: 0 mismatches against the reference, accuracy, round-trip latency', () => {
    const r = kiln(['hil', '--sim', design, '--inputs', join(example, 'digits100.npy'), '--labels', join(example, 'labels100.npy'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ vectors: 100, outputElements: 10, mismatches: 0, retries: 0 });
    expect(s.events).toMatchObject({ timeouts: 0, naks: 0, badCrcs: 0, badLengths: 0 });
    // the same accuracy kiln sim reports for these digits (both compare against one reference)
    const sim = kiln(['sim', design, '--in', join(example, 'digits100.npy'), '--labels', join(example, 'labels100.npy'), '--json']);
    expect(sim.code, sim.stderr).toBe(0);
    expect(s.accuracy).toEqual(JSON.parse(sim.stdout).accuracy);
    expect(s.accuracy.rate).toBeGreaterThan(0.85);
    expect(s.roundTrip.meanMs).toBeGreaterThan(0);
    expect(s.roundTrip.maxMs).toBeGreaterThanOrEqual(s.roundTrip.p95Ms);
    expect(s.roundTripMs).toHaveLength(100);
    expect(Math.max(...s.roundTripMs)).toBe(s.roundTrip.maxMs);
    expect(s.attempts).toEqual(new Array(100).fill(1));
    // the virtual board's cycle reports: at least the reply's own 16 bytes at 8 clocks per bit, and
    // no more than that plus a generous multiple of the design's estimated latency
    const m = readManifest(design);
    const replyClocks = responseFrameBytes(frameGeometry(m)) * 10 * 8;
    expect(s.deviceCycles.perVector).toHaveLength(100);
    expect(s.deviceCycles.min).toBeGreaterThan(replyClocks - 8);
    expect(s.deviceCycles.max).toBeLessThan(replyClocks + 2 * (m.estimate.firstOutputLatency + m.estimate.cyclesPerInference));
  }, 300_000);

  it('corrupted requests (bit flips) are NAKed or time out, and resent', async () => {
    // timeouts long enough that a loaded machine causes none of its own: the counts below are exact
    const r = await runWithFaults(20, [{ kind: 'flip-request', every: 3 }], { timeoutMs: 1000, retries: 3 });
    expect(r.error).toBeUndefined();
    expect(r.injected['flip-request']).toBeGreaterThanOrEqual(6);
    expect(r.summary!.mismatches).toBe(0);
    expect(r.summary!.retries).toBe(r.injected['flip-request']);
    expect(r.summary!.events.naks + r.summary!.events.timeouts).toBe(r.injected['flip-request']);
  }, 60_000);

  it('corrupted replies (bit flips) are caught by the CRC, never taken as results', async () => {
    const r = await runWithFaults(20, [{ kind: 'flip-response', every: 3 }], { timeoutMs: 1000, retries: 3 });
    expect(r.error).toBeUndefined();
    const e = r.summary!.events;
    expect(r.injected['flip-response']).toBeGreaterThanOrEqual(6);
    // every flipped reply was rejected: by its CRC or length, or (a flipped start or sequence byte) by silence
    expect(e.badCrcs).toBeGreaterThan(0);
    expect(e.badCrcs + e.badLengths + e.timeouts).toBe(r.injected['flip-response']);
    expect(r.summary!.mismatches).toBe(0);
  }, 60_000);

  it('when every reply is corrupted, no result is accepted: KLN3005 naming the bad CRCs', async () => {
    const r = await runWithFaults(3, [{ kind: 'flip-response', every: 1 }], { timeoutMs: 300, retries: 2 });
    expect(r.summary).toBeUndefined();
    expect(r.error!.code).toBe('KLN3005');
    expect(r.error!.message).toMatch(/^KLN3005 vector 0: no valid reply from the virtual board .* after 3 attempts \(.*reply with a bad CRC/);
  }, 60_000);

  it('dropped bytes in either direction: the runner times out and resends', async () => {
    const r = await runWithFaults(20, [{ kind: 'drop-request', every: 4 }, { kind: 'drop-response', at: [2, 9] }], { timeoutMs: 500, retries: 3 });
    expect(r.error).toBeUndefined();
    expect(r.injected['drop-request']).toBeGreaterThanOrEqual(5);
    expect(r.injected['drop-response']).toBe(2);
    expect(r.summary!.mismatches).toBe(0);
    expect(r.summary!.retries).toBeGreaterThanOrEqual(7);
    expect(r.summary!.events.timeouts).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it('a device that stalls for a while: retries ride it out, late replies to old attempts are skipped', async () => {
    const r = await runWithFaults(15, [{ kind: 'stall', at: [5], ms: 1000 }], { timeoutMs: 300, retries: 5 });
    expect(r.error).toBeUndefined();
    expect(r.summary!.mismatches).toBe(0);
    expect(r.summary!.events.timeouts).toBeGreaterThanOrEqual(3);
    expect(r.summary!.events.staleReplies).toBeGreaterThan(0);
  }, 60_000);

  it('a device that stalls for ever: KLN3005 after the retries, in bounded time', async () => {
    const r = await runWithFaults(10, [{ kind: 'stall', at: [4], ms: Infinity }], { timeoutMs: 300, retries: 2 });
    expect(r.error!.code).toBe('KLN3005');
    expect(r.error!.message).toMatch(/^KLN3005 vector 4: .* after 3 attempts \(3× no reply within 300 ms\)/);
    expect(r.seconds).toBeLessThan(3 * 0.3 + 5);
  }, 60_000);

  it('a disconnect (the board process killed): KLN3006 at once', async () => {
    const r = await runWithFaults(10, [{ kind: 'disconnect', at: [6] }], { timeoutMs: 5000, retries: 3 });
    expect(r.error!.code).toBe('KLN3006');
    expect(r.error!.message).toMatch(/^KLN3006 the virtual board .* was killed \(SIGKILL\) while waiting for the reply to vector 6/);
    expect(r.seconds).toBeLessThan(4); // well before one 5 s timeout
  }, 60_000);

  it('faults from the command line (hidden --fault flag) and argument errors', () => {
    const r = kiln(['hil', '--sim', design, '--inputs', join(example, 'digits100.npy'), '--count', '12', '--timeout-ms', '300',
      '--fault', 'flip-response%4', '--fault', 'drop-request@1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s).toMatchObject({ vectors: 12, mismatches: 0 });
    expect(s.retries).toBeGreaterThanOrEqual(4);
    const none = kiln(['hil', '--inputs', join(example, 'digits100.npy')]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^KLN1014 give either --port <device> \(with --design <dir>\) or --sim <dir>/);
    const bad = kiln(['hil', '--sim', design, '--inputs', join(example, 'digits100.npy'), '--fault', 'melt%2']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^KLN1014 --fault must look like/);
    const port = kiln(['hil', '--port', '/nonexistent/ttyUSB9', '--design', design, '--inputs', join(example, 'digits100.npy')]);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/^KLN1014 cannot configure serial port \/nonexistent\/ttyUSB9/);
    expect(`${none.stderr}${bad.stderr}${port.stderr}`).not.toMatch(/internal error|    at /);
  }, 120_000);
});

/** A null-modem cable in software: a pseudo-terminal whose slave plays the serial port and whose master is bridged to a command's stdin/stdout. */
const PTY_BRIDGE = `
import os, pty, select, subprocess, sys
master, slave = pty.openpty()
print(os.ttyname(slave), flush=True)
p = subprocess.Popen(sys.argv[2:], cwd=sys.argv[1], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out = p.stdout.fileno()
while True:
    r, _, _ = select.select([master, out], [], [])
    if master in r:
        os.write(p.stdin.fileno(), os.read(master, 4096))
    if out in r:
        b = os.read(out, 4096)
        if not b:
            break
        os.write(master, b)
`;
const python = spawnSync('python3', ['-c', 'import pty'], { encoding: 'utf8' }).status === 0;

describe('kiln hil --port (serial transport)', () => {
  // No hardware here: the virtual board behind a pseudo-terminal exercises stty, the tty stream and the runner.
  it.skipIf(!python)('runs over a pseudo-terminal standing in for /dev/ttyUSB0', async () => {
    const cmd = await prepareVirtualBoard(design);
    const bridgePath = join(work, 'pty-bridge.py');
    writeFileSync(bridgePath, PTY_BRIDGE);
    const bridge = spawn('python3', [bridgePath, cmd.cwd, cmd.binary, ...cmd.args], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pts = await new Promise<string>((resolve, reject) => {
        bridge.stdout.once('data', (b: Buffer) => resolve(b.toString().trim()));
        bridge.once('exit', () => reject(new Error('the pty bridge exited')));
      });
      expect(pts).toMatch(/^\/dev\//);
      const r = await kilnAsync(['hil', '--port', pts, '--baud', '115200', '--design', design, '--inputs', join(example, 'digits100.npy'), '--count', '20', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const s = JSON.parse(r.stdout);
      expect(s).toMatchObject({ link: `${pts} at 115200 baud`, vectors: 20, mismatches: 0, retries: 0 });
      expect(s.deviceCycles).toBeUndefined(); // a serial port reports no cycles
    } finally {
      bridge.kill();
    }
  }, 120_000);
});

describe('hil protocol and runner (no simulator)', () => {
  const m = () => readManifest(design);

  /** A valid reply frame of this design (sequence 0x42, no 0x5A or 0xEE in it after the start byte). */
  function replyFrame() {
    const g = frameGeometry(m());
    const payload = Array.from({ length: g.responseLength }, (_, i) => (i * 37 + 11) & 0xff);
    const frame = [SOF_RESPONSE, ...withCrc([0x42, g.responseLength & 0xff, g.responseLength >> 8, ...payload])];
    expect(frame.slice(1)).not.toContain(SOF_RESPONSE);
    expect(frame.slice(1)).not.toContain(0xee);
    return { g, payload, frame };
  }

  /** Every reply the parser makes of `bytes` (a whole frame, nothing after it). */
  function parse(responseLength: number, bytes: number[]) {
    const p = new ReplyParser(responseLength);
    p.push(Uint8Array.from(bytes));
    const out = [];
    for (let r = p.next(); r; r = p.next()) out.push(r);
    return out;
  }

  it('CRC-16/CCITT-FALSE: the standard check value, and a frame continued over its CRC ends at 0', () => {
    expect(crc16(new TextEncoder().encode('123456789'))).toBe(0x29b1);
    expect(crc16(new TextEncoder().encode('A'))).toBe(0xb915);
    expect(crc16([])).toBe(0xffff);
    // the worked example of hw/uart/README.md
    expect([...requestFrame(0x07, Uint8Array.from([0x12, 0x34]))]).toEqual([0xa5, 0x07, 0x02, 0x00, 0x12, 0x34, 0x88, 0x76]);
    expect([SOF_RESPONSE, ...withCrc([0x07, 0x01, 0x00, 0x09])]).toEqual([0x5a, 0x07, 0x01, 0x00, 0x09, 0x73, 0xf4]);
  });

  it('every single-bit flip of a valid reply frame is rejected', () => {
    const { g, payload, frame } = replyFrame();
    const ok = new ReplyParser(g.responseLength);
    ok.push(Uint8Array.from(frame));
    expect(ok.next()).toEqual({ kind: 'response', seq: 0x42, payload: Uint8Array.from(payload) });
    for (let i = 0; i < frame.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const p = new ReplyParser(g.responseLength);
        const bad = Uint8Array.from(frame);
        bad[i] ^= 1 << bit;
        p.push(bad);
        for (let r = p.next(); r; r = p.next()) expect(r.kind === 'response' && r.seq === 0x42, `byte ${i} bit ${bit}`).toBe(false);
      }
    }
  });

  it('every double-bit flip, byte swap and compensating byte pair of a valid reply frame is rejected', () => {
    const { g, frame } = replyFrame();
    const bits = frame.length * 8;
    const flip = (f: number[], bit: number) => {
      f[bit >> 3] ^= 1 << (bit & 7);
    };
    const sum = (f: number[]) => f.slice(1).reduce((a, b) => a + b, 0) & 0xff;
    let cases = 0;
    let oldSumBlind = 0; // errors the old additive checksum (bytes after the start byte summing to 0) could not see
    const expectRejected = (bad: number[], what: string) => {
      cases++;
      if (sum(bad) === sum(frame)) oldSumBlind++;
      // no result at all: a corrupted frame, a NAK-looking or silent one, but never a response
      expect(parse(g.responseLength, bad).filter((r) => r.kind === 'response'), what).toEqual([]);
    };
    for (let a = 0; a < bits; a++) {
      for (let b = a + 1; b < bits; b++) {
        const bad = [...frame];
        flip(bad, a);
        flip(bad, b);
        expectRejected(bad, `bits ${a} and ${b}`);
      }
    }
    for (let i = 1; i < frame.length; i++) {
      for (let j = i + 1; j < frame.length; j++) {
        if (frame[i] !== frame[j]) {
          const bad = [...frame];
          [bad[i], bad[j]] = [bad[j], bad[i]];
          expectRejected(bad, `bytes ${i} and ${j} swapped`);
        }
        for (const d of [1, 0x10, 0x80]) {
          const bad = [...frame];
          bad[i] = (bad[i] + d) & 0xff;
          bad[j] = (bad[j] - d) & 0xff;
          expectRejected(bad, `byte ${i} +${d}, byte ${j} -${d}`);
        }
      }
    }
    expect(cases).toBeGreaterThan(8000);
    // every swap and compensating pair (hundreds of cases), and the double flips of one bit position up and down
    expect(oldSumBlind).toBeGreaterThan(500);
  });

  it('request frames: A5, SEQ, LEN (little-endian), payload, CRC high byte first', () => {
    const f = requestFrame(0x9c, Uint8Array.from([1, 2, 250, 0xa5]));
    expect([...f.subarray(0, 8)]).toEqual([0xa5, 0x9c, 4, 0, 1, 2, 250, 0xa5]);
    expect(f).toHaveLength(10);
    expect((f[8] << 8) | f[9]).toBe(crc16(f.subarray(1, 8)));
    expect(crc16(f.subarray(1))).toBe(0);
  });

  it('a device that answers with well-formed but wrong data is reported as mismatching', async () => {
    // A fake board: every request gets a valid frame (right sequence, length, CRC) of zeros.
    const g = frameGeometry(m());
    const events = new TransportEvents();
    const liar: Transport = {
      name: 'a lying board',
      write: (bytes) => {
        const body = [bytes[1], g.responseLength & 0xff, g.responseLength >> 8, ...new Array(g.responseLength).fill(0)];
        setTimeout(() => events.emitData(Uint8Array.from([SOF_RESPONSE, ...withCrc(body)])), 1);
      },
      onData: (l) => events.onData(l),
      onClose: (l) => events.onClose(l),
      close: async () => {},
      destroy: () => {},
    };
    const s = await runHil(design, rows(5), liar, { timeoutMs: 200, retries: 0 });
    expect(s.vectors).toBe(5);
    expect(s.retries).toBe(0);
    expect(s.mismatches).toBeGreaterThan(0);
    expect(s.mismatchExamples[0]).toMatchObject({ rtl: 0 });
  });

  it('--fault specs', () => {
    expect(parseFault('flip-response%4')).toEqual({ kind: 'flip-response', every: 4 });
    expect(parseFault('drop-request@1,5')).toEqual({ kind: 'drop-request', at: [1, 5] });
    expect(parseFault('stall@3=1500')).toEqual({ kind: 'stall', at: [3], ms: 1500 });
    expect(parseFault('stall%9=forever')).toEqual({ kind: 'stall', every: 9, ms: Infinity });
    for (const bad of ['stall@3', 'flip-request@2=5', 'melt%2', 'disconnect', 'drop-request%0']) {
      expect(() => parseFault(bad), bad).toThrow(/^KLN1014 --fault must look like/);
    }
  });
});
