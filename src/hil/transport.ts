// Byte links between the HIL runner and a board. The runner only sees `Transport`, so a real serial
// port, the Verilator virtual board (a child process's stdin/stdout) and the fault-injecting wrapper
// (faults.ts) all run the same protocol code.
import { closeSync, constants, openSync } from 'node:fs';
import { ReadStream } from 'node:tty';
import { execa, type ResultPromise } from 'execa';
import { fail } from '../diag/index.ts';

export interface Transport {
  /** For messages: "/dev/ttyUSB0 at 115200 baud", "the virtual board (Verilator)". */
  readonly name: string;
  /** Bytes per second on the wire, to stretch timeouts for long frames (undefined: no limit worth counting). */
  readonly bytesPerSecond?: number;
  /**
   * Cycle counts a simulated board reports beside the protocol, in order: clocks from a request's
   * last bit in to its response's last bit out, with the sequence number (absent on real hardware).
   */
  readonly deviceCycles?: readonly DeviceCycles[];
  write(bytes: Uint8Array): void;
  onData(listener: (bytes: Uint8Array) => void): void;
  /** Called once when the link ends (device gone, process exited, port closed), with the reason. */
  onClose(listener: (reason: string) => void): void;
  /** Orderly shutdown. */
  close(): Promise<void>;
  /** Abrupt end, as when a cable is pulled or the board's process is killed. */
  destroy(): void;
}

export interface DeviceCycles {
  seq: number;
  cycles: number;
}

/** Listener plumbing shared by the transports. */
export class TransportEvents {
  private dataListeners: ((b: Uint8Array) => void)[] = [];
  private closeListeners: ((r: string) => void)[] = [];
  closedReason?: string;

  onData(l: (b: Uint8Array) => void): void {
    this.dataListeners.push(l);
  }

  onClose(l: (r: string) => void): void {
    if (this.closedReason !== undefined) l(this.closedReason);
    else this.closeListeners.push(l);
  }

  emitData(b: Uint8Array): void {
    for (const l of this.dataListeners) l(b);
  }

  emitClose(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const l of this.closeListeners) l(reason);
  }
}

/** A child process that speaks the protocol on stdin/stdout (the virtual board). */
export class ProcessTransport implements Transport {
  readonly name: string;
  private readonly events = new TransportEvents();
  private readonly child: ResultPromise;
  readonly deviceCycles: DeviceCycles[] = [];
  private stderrTail = '';
  private stderrLine = '';
  private closing = false;

  constructor(name: string, binary: string, args: string[], cwd: string) {
    this.name = name;
    this.child = execa(binary, args, { cwd, buffer: false, reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' });
    this.child.stdout!.on('data', (b: Buffer) => this.events.emitData(new Uint8Array(b)));
    this.child.stderr!.on('data', (b: Buffer) => {
      const lines = (this.stderrLine + b.toString()).split('\n');
      this.stderrLine = lines.pop() ?? '';
      for (const line of lines) {
        const c = /^cycles (\d+) (\d+)$/.exec(line);
        if (c) this.deviceCycles.push({ seq: Number(c[1]), cycles: Number(c[2]) });
        else this.stderrTail = `${this.stderrTail}${line}\n`.slice(-2000);
      }
    });
    // A write after the process died fails with EPIPE; the exit below reports it.
    this.child.stdin!.on('error', () => {});
    void this.child.then((r) => {
      const how = r.signal ? `was killed (${r.signal})` : `exited with code ${r.exitCode}`;
      const why = `${this.stderrTail}${this.stderrLine}`.trim().split('\n').slice(-3).join('; ');
      this.events.emitClose(this.closing ? 'closed by the host' : `${this.name} ${how}${why ? `: ${why}` : ''}`);
    });
  }

  write(bytes: Uint8Array): void {
    if (this.events.closedReason === undefined) this.child.stdin!.write(bytes);
  }

  onData(l: (b: Uint8Array) => void): void {
    this.events.onData(l);
  }

  onClose(l: (r: string) => void): void {
    this.events.onClose(l);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.child.stdin!.end();
    // The board exits at end of input; do not wait for a wedged one.
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await this.child;
    clearTimeout(timer);
  }

  destroy(): void {
    this.child.kill('SIGKILL');
  }
}

/**
 * A serial port (e.g. /dev/ttyUSB0): set to raw 8N1 at `baud` with stty, then read through Node's
 * tty stream and written through the same stream. Cannot be tested on hardware here; the virtual
 * board exercises everything above this class.
 */
export class SerialTransport implements Transport {
  readonly name: string;
  readonly bytesPerSecond: number;
  private readonly events = new TransportEvents();
  private stream?: ReadStream;
  private fd = -1;

  private constructor(readonly path: string, readonly baud: number) {
    this.name = `${path} at ${baud} baud`;
    this.bytesPerSecond = baud / 10; // 8N1: 10 bits per byte
  }

  static async open(path: string, baud: number): Promise<SerialTransport> {
    const t = new SerialTransport(path, baud);
    const stty = await execa('stty', ['-F', path, String(baud), 'raw', '-echo', '-echoe', '-echok', 'cs8', '-cstopb', '-parenb', '-ixon', '-ixoff', '-crtscts', 'clocal'], { reject: false, timeout: 10_000 });
    if (stty.exitCode !== 0) {
      fail('BadArgument', `cannot configure serial port ${path} at ${baud} baud: ${`${stty.stderr}`.trim() || `stty exit ${stty.exitCode}`}`);
    }
    try {
      t.fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    } catch (e) {
      fail('BadArgument', `cannot open serial port ${path}: ${(e as Error).message}`);
    }
    const stream = new ReadStream(t.fd);
    t.stream = stream;
    stream.on('data', (b: Buffer) => t.events.emitData(new Uint8Array(b)));
    stream.on('error', (e) => t.events.emitClose(`${t.name}: ${e.message}`));
    stream.on('close', () => t.events.emitClose(`${t.name} was closed`));
    return t;
  }

  write(bytes: Uint8Array): void {
    if (this.events.closedReason === undefined) this.stream?.write(bytes);
  }

  onData(l: (b: Uint8Array) => void): void {
    this.events.onData(l);
  }

  onClose(l: (r: string) => void): void {
    this.events.onClose(l);
  }

  async close(): Promise<void> {
    this.events.emitClose('closed by the host');
    this.destroy();
  }

  destroy(): void {
    this.stream?.destroy();
    this.stream = undefined;
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed by the stream
      }
      this.fd = -1;
    }
  }
}
