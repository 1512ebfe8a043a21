// Yosys 0.55 as WebAssembly (@yowasp/yosys, a devDependency): the Yosys version behind FINN's RTL MVU
// figures in ../shared/TARGETS.md, so the peers bench compares like with like. It runs kiln's own
// synth script (src/synth/yosys.ts synthScript) on a virtual copy of the design directory.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runYosys, version } from '@yowasp/yosys';
import type { YosysEngine } from '../src/synth/yosys.ts';

type Tree = { [name: string]: Tree | string | Uint8Array };

/** The design directory as a YoWASP file tree (RTL and the $readmemh files it reads). */
function treeOf(dir: string): Tree {
  const t: Tree = {};
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    t[f] = statSync(p).isDirectory() ? treeOf(p) : readFileSync(p);
  }
  return t;
}

const OUT = '.kiln-out';

export const wasmYosys: YosysEngine = {
  version: async () => `Yosys ${version.replace(/\.\d+$/, '')} (@yowasp/yosys ${version})`,
  async run(dir, script, outputs) {
    const files = { ...treeOf(dir), [OUT]: {} };
    let log = '';
    const text = (b: Uint8Array | null) => { if (b) log += Buffer.from(b).toString('utf8'); };
    let tree: Tree;
    let exitCode = 0;
    try {
      tree = (await runYosys(['-q', '-p', script((name) => `${OUT}/${name}`)], files, { stdout: text, stderr: text })) as Tree;
    } catch (e) {
      const exit = e as { code?: number; files?: Tree };
      if (exit.code === undefined || !exit.files) throw e;
      exitCode = exit.code;
      tree = exit.files;
    }
    const out = (tree[OUT] ?? {}) as Tree;
    const read = (o: string) => {
      const v = out[o];
      return v === undefined ? undefined : typeof v === 'string' ? v : Buffer.from(v as Uint8Array).toString('utf8');
    };
    return { exitCode, log, outputs: Object.fromEntries(outputs.map((o) => [o, read(o)])) };
  },
};
