// #16 "one line means one line": a user error is exactly one coded line on stderr — control
// characters in names escaped, yargs' complaints folded into the line, no progress bar in front.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finishAllProgress, progressBar } from '../../src/cli/progress.ts';
import { escapeControl, formatDiagnostic, KilnError } from '../../src/diag/index.ts';
import { emptyGraph } from '../../src/ir/graph.ts';
import { makeTensor } from '../../src/ir/tensor.ts';
import { encodeNpy } from '../../src/io/npy.ts';
import { encodeModel } from '../../src/onnx/load.ts';
import { kilnAsync, tempDirsRemovedAfterAll } from './cli-helpers.ts';

const dir = tempDirsRemovedAfterAll();

describe('one line means one line', () => {
  it('escapeControl writes control characters as escapes and leaves the rest', () => {
    expect(escapeControl('a\nb\r\tc\x1b[31m\x00\x7f\u0085\u2028é✓')).toBe('a\\nb\\r\\tc\\x1b[31m\\x00\\x7f\\x85\\u2028é✓');
  });

  it('a diagnostic naming a node with a newline is one line; a tool log goes indented under it', () => {
    expect(formatDiagnostic({ code: 'KLN1002', message: "tensor 'x\ny' is bad", node: 'n\n1' })).toBe("KLN1002 tensor 'x\\ny' is bad at node 'n\\n1'");
    const e = new KilnError({ code: 'KLN3002', message: 'yosys failed; last lines:', detail: 'ERROR: a\nERROR: \x1bb\n' });
    expect(e.message).toBe('KLN3002 yosys failed; last lines:\n  ERROR: a\n  ERROR: \\x1bb');
  });

  it('through the CLI: a node and tensor named with control characters', async () => {
    const d = dir();
    const g = emptyGraph();
    g.opsets = { '': 13 };
    g.inputs.push({ name: 'x\n', dtype: 'float32', shape: [1, 4] });
    g.outputs.push({ name: 'y', dtype: 'float32' });
    g.nodes.push({ name: 'add\nKLN0000 fake\x1b[2J', op: 'Add', domain: '', inputs: ['x\n'], outputs: ['y'], attrs: {} });
    writeFileSync(join(d, 'm.onnx'), encodeModel(g));
    writeFileSync(join(d, 'x.npy'), encodeNpy(makeTensor('float32', [1, 4])));
    const want = "KLN1002 Add takes 2 inputs at opset 13, but has 1 at node 'add\\nKLN0000 fake\\x1b[2J'\n";
    const [compile, exec, inspect] = await Promise.all([
      kilnAsync(['compile', 'm.onnx', '-o', 'out'], d),
      kilnAsync(['exec', 'm.onnx', '--in', 'x.npy'], d),
      kilnAsync(['inspect', 'm.onnx'], d),
    ]);
    expect({ code: compile.code, stderr: compile.stderr }).toEqual({ code: 2, stderr: want });
    expect({ code: exec.code, stderr: exec.stderr }).toEqual({ code: 2, stderr: want });
    expect(inspect.stdout).toContain(`  ${want}`);
    expect(inspect.stdout).toContain('x\\n');
    expect(inspect.stdout).not.toContain('\x1b');
  }, 60_000);

  describe.concurrent('yargs errors are one KLN1014 line with where to find the usage', () => {
    const cases: [string[], string][] = [
      [['compil'], "KLN1014 Unknown command 'compil'. Did you mean compile? (see 'kiln --help')"],
      [[], "KLN1014 Give a command (see 'kiln --help')"],
      [['compile'], "KLN1014 Not enough non-option arguments: got 0, need at least 1 (see 'kiln compile --help')"],
      [['compile', 'm.onnx'], "KLN1014 Missing required argument: out (see 'kiln compile --help')"],
      [['inspect', 'm.onnx', '--jsn'], "KLN1014 Unknown argument: jsn (see 'kiln inspect --help')"],
      [['inspect', 'm.onnx', '--x\x1b[2J'], "KLN1014 Unknown argument: x\\x1b[2J (see 'kiln inspect --help')"],
    ];
    for (const [args, want] of cases) {
      it(JSON.stringify(args), async () => {
        const r = await kilnAsync(args);
        expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code: 2, stderr: `${want}\n`, stdout: '' });
      }, 30_000);
    }
  });

  it('an error clears a progress bar still drawn on a terminal, so it starts its own line', () => {
    let written = '';
    const stream = { isTTY: true, columns: 80, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
    const bar = progressBar(stream);
    bar.update({ message: 'simulating', done: 1, total: 4 });
    expect(written).toContain('simulating');
    written = '';
    finishAllProgress();
    expect(written).toBe('\r\x1b[K');
    written = '';
    finishAllProgress(); // finished bars are not cleared twice
    expect(written).toBe('');
  });
});
