// `kiln sim --redis` with `kiln worker`s on a BullMQ queue: a redis-server started here on 127.0.0.1
// at a free port (stopped after), two workers of which one is killed in the middle of its job: every
// vector's result is present exactly once and the outputs are byte-identical to a local run; Redis
// stopped in the middle of a run: a one-line coded error and no output file.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, kiln, tempDirsRemovedAfterAll } from '../unit/cli-helpers.ts';
import { npyFloat32 } from '../helpers/npy.ts';

const tempDir = tempDirsRemovedAfterAll();
const bnn = join(ROOT, 'test/fixtures/corpus/hls4ml-example-models/bnn_model_fc_1layer.onnx');
const BIN = join(ROOT, 'bin', 'kiln.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) killGroup(c);
});

function killGroup(c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-c.pid!, signal);
  } catch {
    // already gone
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const sock = connect(port, '127.0.0.1', () => {
    sock.destroy();
    resolve(true);
  });
  sock.on('error', () => resolve(false));
});

/** A child process in its own process group (so that killing it kills its simulator/compiler too), output collected. */
function start(cmd: string, args: string[], env: Record<string, string> = {}): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.push(child);
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text += d));
  return { child, out: () => text };
}

const exited = (c: ChildProcess) => new Promise<number>((resolve) => (c.exitCode !== null ? resolve(c.exitCode) : c.on('close', (code) => resolve(code ?? -1))));

async function redis(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const { child } = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  await until(() => accepts(port), 10_000, 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, child };
}

describe('kiln sim --redis with kiln workers', () => {
  it('a worker killed mid-job: its job runs again on the other, every vector once, outputs byte-identical to local', async () => {
    const tmp = tempDir();
    const d = join(tmp, 'd');
    expect(kiln(['compile', bnn, '-o', d]).code).toBe(0);
    const rows = Array.from({ length: 200 }, (_, k) => [Math.sin(k), Math.cos(3 * k), (k % 7) / 3 - 1]);
    writeFileSync(join(tmp, 'x.npy'), npyFloat32(rows));
    const local = kiln(['sim', d, '--in', join(tmp, 'x.npy'), '--out', join(tmp, 'local.npy'), '--jobs', '1', '--json'], ROOT, { timeoutMs: 120_000 });
    expect(local.code, local.stderr).toBe(0);
    const r = await redis(tmp);
    // Worker A has an empty cache and no ccache: its first job spends seconds building the simulator, and it is killed then.
    const emptyCache = join(tmp, 'cache-a');
    mkdirSync(emptyCache);
    const a = start(process.execPath, [BIN, 'worker', '--redis', r.url, '--lock-ms', '2000'], { KILN_CACHE: emptyCache, CCACHE_DISABLE: '1' });
    await until(() => a.out().includes('taking jobs'), 20_000, 'worker A');
    const sim = start(process.execPath, [BIN, 'sim', d, '--in', join(tmp, 'x.npy'), '--out', join(tmp, 'remote.npy'), '--redis', r.url, '--shard-size', '40', '--json']);
    await until(() => a.out().includes('started'), 20_000, 'worker A to take a job');
    const b = start(process.execPath, [BIN, 'worker', '--redis', r.url, '--lock-ms', '2000']);
    await until(() => b.out().includes('started'), 20_000, 'worker B to take a job');
    expect(a.out()).not.toMatch(/done in/);
    killGroup(a.child);
    expect(await exited(sim.child), sim.out()).toBe(0);
    const summary = JSON.parse(sim.out().slice(sim.out().indexOf('{')));
    const localSummary = JSON.parse(local.stdout);
    expect(summary).toMatchObject({ inferences: 200, mismatches: 0, queue: { jobs: 5, retried: 1 } });
    for (const k of ['cyclesPerInference', 'firstOutputLatency', 'fps', 'outputElements']) expect(summary[k], k).toBe(localSummary[k]);
    expect(readFileSync(join(tmp, 'remote.npy')).equals(readFileSync(join(tmp, 'local.npy')))).toBe(true);
    expect(readFileSync(join(tmp, 'remote.codes.npy')).equals(readFileSync(join(tmp, 'local.codes.npy')))).toBe(true);
    // The lost job ran on B: B's log names it (worker A's job id) as done.
    const lostJob = /job (\S+) started/.exec(a.out())![1];
    expect(b.out()).toContain(`job ${lostJob} done`);
    killGroup(b.child, 'SIGTERM');
    expect(await exited(b.child)).toBe(0);
    killGroup(r.child, 'SIGTERM');
    await exited(r.child);
  }, 60_000);

  it('Redis stopped mid-run: KLN3007 naming the job, no output written', async () => {
    const tmp = tempDir();
    const d = join(tmp, 'd');
    expect(kiln(['compile', bnn, '-o', d]).code).toBe(0);
    writeFileSync(join(tmp, 'x.npy'), npyFloat32([[0.5, -0.5, 0.25], [0.1, 0.2, 0.3]]));
    const r = await redis(tmp);
    // No worker: the jobs wait in the queue until Redis goes away.
    const sim = start(process.execPath, [BIN, 'sim', d, '--in', join(tmp, 'x.npy'), '--out', join(tmp, 'y.npy'), '--redis', r.url]);
    await until(() => sim.out().includes('simulating'), 20_000, 'the run to enqueue');
    killGroup(r.child, 'SIGKILL');
    expect(await exited(sim.child)).toBe(2);
    expect(sim.out().trim().split('\n').at(-1)).toMatch(/^KLN3007 Redis at redis:\/\/127\.0\.0\.1:\d+ is unavailable while waiting for job sim-\S+ \(vectors 0–1\) \(connection lost\)$/);
    expect(existsSync(join(tmp, 'y.npy'))).toBe(false);
    expect(existsSync(join(tmp, 'y.codes.npy'))).toBe(false);
  }, 60_000);
});
