// In flow/ because a worker drives two stages, simulation (sim/) and synthesis (synth/).
// `kiln worker`: takes jobs from the BullMQ queue 'kiln' (src/sim/queue.ts). A design arrives as its
// content hash; the worker fetches its files from Redis into `<cache>/designs/<hash>` once (checked
// against the hash), builds or reuses the cached Verilator binary (buildSim's content cache) and runs
// the shard; synthesis runs Yosys on a scratch copy. A KilnError (deadlock, bad design) fails the job
// without retry; anything else is retried, and a worker that dies leaves its job to the stalled-job
// check, which hands it to another worker.
import { cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { fail, KilnError } from '../diag/index.ts';
import { synthDesign } from '../synth/design.ts';
import { cacheRoot } from '../util/cache-root.ts';
import { buildSim } from '../sim/build.ts';
import { readManifest } from '../sim/manifest.ts';
import { designHash, designKey, QUEUE_NAME, type DesignStore, redisConnection, type JobData, type SimJobData, type SynthJobData } from '../sim/queue.ts';
import { shardResult, type ShardResult } from '../sim/shard.ts';
import { runHarness } from '../sim/simulate.ts';

export interface WorkerOptions {
  concurrency?: number;
  /** Milliseconds a job's lock lasts without renewal: a dead worker's job is retried after about this. */
  lockMs?: number;
  log?: (line: string) => void;
}


/** The design's directory in this machine's cache, fetched from Redis when absent. */
async function materialize(client: DesignStore, hash: string): Promise<string> {
  const dir = join(cacheRoot(), 'designs', hash);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  const raw = await client.hgetallBuffer(designKey(hash));
  const files = new Map(Object.entries(raw));
  if (files.size === 0) fail('FileNotFound', `design ${hash} is not stored in Redis (expired or never uploaded)`);
  if (designHash(files) !== hash) fail('BadInputFile', `design ${hash} in Redis does not match its hash`);
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = mkdtempSync(`${dir}.tmp-`);
  try {
    for (const [path, data] of files) {
      mkdirSync(dirname(join(tmp, path)), { recursive: true });
      writeFileSync(join(tmp, path), data);
    }
    try {
      renameSync(tmp, dir);
    } catch {
      if (!existsSync(join(dir, 'manifest.json'))) throw new Error(`could not move ${tmp} to ${dir}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dir;
}

async function runSim(dir: string, data: SimJobData, job: Job): Promise<ShardResult> {
  const m = readManifest(dir);
  const build = await buildSim(dir);
  const n = data.range[1] - data.range[0];
  const r = await runHarness(dir, m, build.binary, data.inputs, data.opts, (done) => {
    void job.updateProgress(Math.max(0, Math.min(n, done - data.warm))).catch(() => {});
  });
  return shardResult(data.range, data.warm, r);
}

async function runSynth(dir: string, data: SynthJobData): Promise<unknown> {
  // synthDesign merges into the directory's report: work on a copy, the cache stays content-addressed.
  const scratch = mkdtempSync(join(tmpdir(), 'kiln-synth-job-'));
  try {
    cpSync(dir, scratch, { recursive: true });
    return await synthDesign(scratch, data.family, { layers: data.layers });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export function describeJob(data: JobData): string {
  return data.kind === 'sim'
    ? `sim vectors ${data.range[0]}–${data.range[1] - 1} of design ${data.design.slice(0, 12)}`
    : `synth ${data.family} of design ${data.design.slice(0, 12)}`;
}

/** Starts a worker on the queue at `url`; resolves once it is connected. */
export async function startWorker(url: string, opts: WorkerOptions = {}): Promise<Worker> {
  const log = opts.log ?? (() => {});
  let client: DesignStore | undefined;
  const worker = new Worker<JobData>(QUEUE_NAME, async (job) => {
    const t0 = performance.now();
    log(`job ${job.id} started: ${describeJob(job.data)}`);
    try {
      client ??= (await worker.client) as unknown as DesignStore;
      const dir = await materialize(client, job.data.design);
      const result = job.data.kind === 'sim' ? await runSim(dir, job.data, job) : await runSynth(dir, job.data);
      log(`job ${job.id} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return result;
    } catch (e) {
      log(`job ${job.id} failed: ${(e as Error).message.split('\n')[0]}`);
      if (e instanceof KilnError) throw new UnrecoverableError(e.message);
      throw e;
    }
  }, {
    connection: redisConnection(url, { worker: true }),
    concurrency: opts.concurrency ?? 1,
    lockDuration: opts.lockMs ?? 30_000,
    stalledInterval: Math.max(500, Math.round((opts.lockMs ?? 30_000) / 2)),
    maxStalledCount: 3,
  });
  worker.on('error', (e) => log(`redis: ${e.message}`));
  await worker.waitUntilReady();
  return worker;
}
