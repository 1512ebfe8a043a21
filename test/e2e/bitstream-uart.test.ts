// The UART wrapper kiln_uart_top (hw/uart/README.md) around a real compiled design, simulated with
// Icarus at 4 clocks per bit: every input of bnn_model_fc_1layer in its own frame, answered with the
// reference executor's output and the request's sequence number, under a CRC-16/CCITT-FALSE that the
// host's bitwise crc16 must agree with; a bad CRC (also errors an additive checksum would miss) and a
// wrong length answered with NAKs and nothing from the accelerator; a truncated frame abandoned after
// the timeout.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { readDataflowJson } from '../../src/dataflow/json.ts';
import { runDataflow } from '../../src/exec/dataflow.ts';
import { requireTool } from '../../src/tools/index.ts';
import { uartSources } from '../../src/bitstream/ice40.ts';
import { withCrc } from '../../src/hil/protocol.ts';
import { ROOT, tempDir } from '../unit/cli-helpers.ts';

const work = tempDir();
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bnn = join(ROOT, 'test/fixtures/corpus/hls4ml-example-models/bnn_model_fc_1layer.onnx');
const CLKS_PER_BIT = 4;
const TIMEOUT_CLKS = 400;
const GAP = 600; // clocks between requests: longer than a response and than the timeout

/** A request frame: A5, seq, len (LE), payload, CRC (high byte first). */
function frame(seq: number, payload: number[], len = payload.length): number[] {
  return [0xa5, ...withCrc([seq, len & 0xff, len >> 8, ...payload])];
}

/** What the old additive checksum saw: the bytes after the start byte, summed mod 256. */
const byteSum = (f: number[]) => f.slice(1).reduce((s, b) => s + b, 0) % 256;

function testbench(steps: string[]): string {
  return `\`timescale 1ns/1ps
module tb;
  reg clk = 1'b0;
  always #5 clk = ~clk;
  reg rx = 1'b1;
  wire tx;
  kiln_uart_top #(.CLKS_PER_BIT(${CLKS_PER_BIT}), .IN_W(3), .OUT_W(4), .IN_BEATS(1), .OUT_BEATS(1), .NS(3),
    .TIMEOUT_CLKS(${TIMEOUT_CLKS})) dut (.clk(clk), .uart_rx(rx), .uart_tx(tx));
  task send(input [7:0] b);
    integer i;
    begin
      rx = 1'b0; repeat (${CLKS_PER_BIT}) @(posedge clk);
      for (i = 0; i < 8; i = i + 1) begin rx = b[i]; repeat (${CLKS_PER_BIT}) @(posedge clk); end
      rx = 1'b1; repeat (${CLKS_PER_BIT}) @(posedge clk);
    end
  endtask
  reg [7:0] rb;
  integer j;
  initial forever begin
    @(negedge tx);
    repeat (${CLKS_PER_BIT / 2}) @(posedge clk);
    for (j = 0; j < 8; j = j + 1) begin repeat (${CLKS_PER_BIT}) @(posedge clk); rb[j] = tx; end
    repeat (${CLKS_PER_BIT}) @(posedge clk);
    $display("RX %02x", rb);
  end
  initial begin
    repeat (20) @(posedge clk);
${steps.map((s) => `    ${s}`).join('\n')}
    $finish;
  end
endmodule
`;
}

describe('kiln_uart_top protocol (Icarus)', () => {
  it('answers every bnn input with the reference output, NAKs bad frames, survives a truncated frame', () => {
    const dir = join(work, 'design');
    const c = spawnSync(process.execPath, [join(ROOT, 'bin', 'kiln.js'), 'compile', bnn, '-o', dir], { cwd: ROOT, encoding: 'utf8' });
    expect(c.status, c.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { files: string[]; inW: number; outW: number };
    expect([manifest.inW, manifest.outW]).toEqual([3, 4]);
    const df = readDataflowJson(join(dir, 'dataflow.json'));

    const steps: string[] = [];
    const expected: number[][] = [];
    const request = (bytes: number[]) => {
      for (const b of bytes) steps.push(`send(8'h${b.toString(16).padStart(2, '0')});`);
      steps.push(`repeat (${GAP}) @(posedge clk);`);
    };
    // all 8 BIPOLAR inputs (bit i = element i, 1 = +1), sequence numbers 0x10..0x17
    for (let code = 0; code < 8; code++) {
      const x = [0, 1, 2].map((i) => ((code >> i) & 1 ? 1 : -1));
      const y = runDataflow(df, [x])[0];
      const out = y.reduce((bits, v, i) => bits | ((v === 1 ? 1 : 0) << i), 0);
      const seq = 0x10 + code;
      request(frame(seq, [code]));
      expected.push([0x5a, ...withCrc([seq, 1, 0, out])]);
    }
    const bad = frame(0x20, [5]);
    bad[bad.length - 1] ^= 0x40;
    request(bad);
    expected.push([0xee, 0x20, 0x01]);
    // Two compensating byte errors (sequence +1, payload -1) and a swap of the two CRC bytes: the byte
    // sum is unchanged, so the old additive checksum would have let both through to the accelerator.
    const compensated = frame(0x30, [5]);
    compensated[1] += 1;
    compensated[4] -= 1;
    const swapped = frame(0x32, [3]);
    [swapped[5], swapped[6]] = [swapped[6], swapped[5]];
    expect(swapped[5]).not.toBe(swapped[6]);
    expect(byteSum(compensated)).toBe(byteSum(frame(0x30, [5])));
    expect(byteSum(swapped)).toBe(byteSum(frame(0x32, [3])));
    request(compensated);
    expected.push([0xee, 0x31, 0x01]);
    request(swapped);
    expected.push([0xee, 0x32, 0x01]);
    request(frame(0x21, [5, 0], 2));
    expected.push([0xee, 0x21, 0x02]);
    request([0xa5, 0x22, 0x01]); // truncated: the device must drop it after TIMEOUT_CLKS
    request(frame(0x23, [6]));
    const y6 = runDataflow(df, [[-1, 1, 1]])[0].reduce((bits, v, i) => bits | ((v === 1 ? 1 : 0) << i), 0);
    expected.push([0x5a, ...withCrc([0x23, 1, 0, y6])]);

    writeFileSync(join(dir, 'tb.v'), testbench(steps));
    const uart = uartSources;
    // the wrapper needs kiln_top, so it is linted here (hw/'s lint test takes files one by one)
    const lint = spawnSync(requireTool('verilator'), ['--lint-only', '-Wall', '--top-module', 'kiln_uart_top', '-GIN_W=3', '-GOUT_W=4', '-GNS=3', ...uart, ...manifest.files], { cwd: dir, encoding: 'utf8' });
    expect(`${lint.stdout}${lint.stderr}`.trim()).toBe('');
    const build = spawnSync(requireTool('iverilog'), ['-g2005', '-o', 'tb.vvp', '-s', 'tb', 'tb.v', ...uart, ...manifest.files], { cwd: dir, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const run = spawnSync(requireTool('vvp'), ['-n', 'tb.vvp'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(run.status, run.stderr).toBe(0);
    const received = [...run.stdout.matchAll(/^RX ([0-9a-f]{2})$/gm)].map((m) => parseInt(m[1], 16));
    expect(received).toEqual(expected.flat());
  }, 120_000);
});
