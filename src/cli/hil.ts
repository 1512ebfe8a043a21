// kiln hil --port /dev/ttyUSB0 --design <dir> | --sim <dir>, --inputs x.npy [--labels y.npy]: stream
// test vectors to a board (or to the Verilator virtual board) over the framed UART protocol, compare
// every reply with the integer reference executor, report mismatches, accuracy and round-trip latency.
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { readDataflowJson } from '../dataflow/json.ts';
import { fail } from '../diag/index.ts';
import { startVirtualBoard } from '../hil/board.ts';
import { FaultyTransport, parseFault, type Fault } from '../hil/faults.ts';
import { runHil, type HilSummary } from '../hil/hil.ts';
import { frameGeometry, responseFrameBytes } from '../hil/protocol.ts';
import { SerialTransport, type Transport } from '../hil/transport.ts';
import { readManifest } from '../sim/manifest.ts';
import { makeTensor, numel } from '../ir/tensor.ts';
import { inferenceRows, labelAccuracy } from '../api/simulate.ts';
import { readTensorFile } from '../api/tensors.ts';
import { progressBar } from './progress.ts';
import { numberOption } from './options.ts';

interface HilArgs {
  port?: string;
  baud: number;
  design?: string;
  sim?: string;
  inputs: string;
  labels?: string;
  count?: number;
  'timeout-ms': number;
  retries: number;
  json: boolean;
  'clks-per-bit': number;
  fault?: string[];
  'fault-seed': number;
}

const fmt = (v: number, digits = 0) => v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function formatHilSummary(s: HilSummary, accuracy?: { correct: number; total: number; rate: number }): string {
  const e = s.events;
  const first = s.mismatchExamples[0];
  const lines = [
    `${s.vectors} vectors over ${s.link} (${s.design})`,
    `  mismatches vs integer reference: ${s.mismatches} of ${s.vectors * s.outputElements} output values` +
      (first ? ` (first: vector ${first.inference} element ${first.element}: device ${first.rtl}, reference ${first.reference})` : ''),
  ];
  if (accuracy) lines.push(`  accuracy:    ${fmt(100 * accuracy.rate, 2)} % (${accuracy.correct}/${accuracy.total})`);
  const r = s.roundTrip;
  lines.push(
    `  round trip:  mean ${fmt(r.meanMs, 2)} ms, p50 ${fmt(r.p50Ms, 2)} ms, p95 ${fmt(r.p95Ms, 2)} ms, max ${fmt(r.maxMs, 2)} ms (${fmt(s.vectors / s.seconds, 1)} vectors/s)`,
    ...(s.deviceCycles ? [`  device:      mean ${fmt(s.deviceCycles.mean, 1)} cycles, min ${fmt(s.deviceCycles.min)}, max ${fmt(s.deviceCycles.max)} (request's last bit in → reply's last bit out)`] : []),
    `  retries:     ${s.retries} (${e.timeouts} timeouts, ${e.naks} NAKs, ${e.badCrcs} bad CRCs, ${e.badLengths} bad lengths, ${e.staleReplies} stale replies skipped)`,
  );
  return lines.join('\n') + '\n';
}

export const hilCommand: CommandModule<object, HilArgs> = {
  command: 'hil',
  describe: 'Run test vectors on a board over UART (or on the Verilator virtual board) and check them against the reference',
  builder: (y) => y
    .option('port', { type: 'string', describe: 'serial device of the board, e.g. /dev/ttyUSB0 (needs --design)' })
    .option('baud', numberOption('baud', { integer: true, min: 300, max: 12_000_000, unit: 'bit/s', default: 115200, describe: 'baud rate of --port (the one the bitstream was built for)' }))
    .option('design', { type: 'string', describe: "the design on the board: output directory of 'kiln compile'" })
    .option('sim', { type: 'string', describe: "a virtual board: the design in this 'kiln compile' directory, simulated in Verilator" })
    .option('inputs', { type: 'string', demandOption: true, describe: 'inputs (.npy or .pb), one vector per row' })
    .option('labels', { type: 'string', describe: 'labels (.npy) to report accuracy (argmax of the outputs)' })
    .option('count', numberOption('count', { integer: true, min: 1, describe: 'run only the first N vectors' }))
    .option('timeout-ms', numberOption('timeout-ms', { above: 0, unit: 'ms', default: 1000, describe: 'reply timeout per attempt (plus the frames\' time on the wire)' }))
    .option('retries', numberOption('retries', { integer: true, min: 0, default: 3, describe: 'resends per vector after a timeout, NAK or corrupted reply' }))
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' })
    .option('clks-per-bit', numberOption('clks-per-bit', { integer: true, min: 4, default: 8, hidden: true, describe: 'virtual board: clocks per UART bit' }))
    .option('fault', { type: 'string', array: true, hidden: true, describe: 'inject faults between runner and board, e.g. flip-response%5, stall@3=1500' })
    .option('fault-seed', numberOption('fault-seed', { integer: true, min: 0, default: 1, hidden: true, describe: 'seed of the injected faults' }))
    .conflicts('port', 'sim'),
  handler: async (args) => {
    if ((args.port === undefined) === (args.sim === undefined)) fail('BadArgument', 'give either --port <device> (with --design <dir>) or --sim <dir>');
    if (args.port !== undefined && args.design === undefined) fail('BadArgument', "--port needs --design <dir>: the 'kiln compile' directory of the design on the board");
    const faults: Fault[] = (args.fault ?? []).map(parseFault);
    const dir = (args.sim ?? args.design)!;
    const manifest = readManifest(dir);

    const x = readTensorFile(args.inputs);
    const df = readDataflowJson(join(dir, 'dataflow.json'));
    let rows = inferenceRows(x, numel(df.streams.get(df.inputs[0])!.shape), 'the inputs file');
    let labels = args.labels !== undefined ? readTensorFile(args.labels) : undefined;
    if (args.count !== undefined) {
      rows = rows.slice(0, args.count);
      if (labels) labels = makeTensor(labels.dtype, [Math.min(args.count, numel(labels.shape))], labels.data.slice(0, args.count));
    }

    const bar = progressBar(process.stderr, !args.json || process.stderr.isTTY === true);
    let transport: Transport | undefined;
    let summary: HilSummary;
    try {
      if (args.sim !== undefined) {
        const board = await startVirtualBoard(args.sim, { clksPerBit: args['clks-per-bit'], onProgress: (p) => bar.update({ message: p.message }) });
        transport = board.transport;
      } else {
        transport = await SerialTransport.open(args.port!, args.baud);
      }
      if (faults.length) transport = new FaultyTransport(transport, faults, { seed: args['fault-seed'], replyBytes: responseFrameBytes(frameGeometry(manifest)) });
      summary = await runHil(dir, rows, transport, {
        timeoutMs: args['timeout-ms'],
        retries: args.retries,
        // the retry count only on a terminal's redrawn bar: in a log every new message is a new line
        onProgress: (p) => bar.update({ message: `vectors${p.retries && process.stderr.isTTY ? ` (${p.retries} retries)` : ''}`, done: p.done, total: p.total }),
      });
    } finally {
      bar.finish();
      await transport?.close();
    }
    const accuracy = labels ? labelAccuracy(summary.floats, labels) : undefined;
    if (args.json) {
      const { codes: _c, floats: _f, ...rest } = summary;
      process.stdout.write(JSON.stringify({ ...rest, accuracy }, null, 2) + '\n');
    } else {
      process.stdout.write(formatHilSummary(summary, accuracy));
    }
    if (summary.mismatches > 0) process.exitCode = 1;
  },
};
