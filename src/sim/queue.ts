// kiln's job queue on an existing engine: BullMQ on Redis. `kiln sim --redis` and `kiln synth --redis`
// put jobs on the queue 'kiln'; `kiln worker` (src/flow/worker.ts) takes them. Designs travel
// content-addressed: the producer stores a design directory's files once under `kiln:design:<sha256>`,
// a worker fetches them into its cache by that hash (and buildSim reuses the Verilator binary built for
// the same content). A job whose worker dies is moved back to the queue by BullMQ's stalled-job check
// and taken by another worker; the producer keeps the first result of each job (exactly once). Every
// wait is bounded: a Redis call that does not answer fails with KLN3007, a job not finished in time
// with KLN3008, both naming the job.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Job, Queue, type ConnectionOptions } from 'bullmq';
import { Code, fail, KilnError } from '../diag/index.ts';
import type { Family } from '../estimate/units.ts';

export const QUEUE_NAME = 'kiln';
/** Redis key of a design's files (a hash: relative path → content). */
export const designKey = (hash: string): string => `kiln:design:${hash}`;
/** Stored designs expire after a week without use. */
const DESIGN_TTL_SECONDS = 7 * 24 * 3600;

export interface SimJobOptions {
  backpressure?: number;
  gaps?: number;
  seed?: number;
  watchdogCycles?: number;
  outputElements?: number;
}

/** A simulation shard: `inputs` are the warm-up inferences followed by those of `range`. */
export interface SimJobData {
  kind: 'sim';
  design: string;
  range: [number, number];
  warm: number;
  inputs: number[][];
  opts: SimJobOptions;
}

/** Yosys on a design (`kiln synth`). */
export interface SynthJobData {
  kind: 'synth';
  design: string;
  family: Family;
  layers: boolean;
}

export type JobData = SimJobData | SynthJobData;

/** The few ioredis calls the design store uses (BullMQ's connections are ioredis clients). */
export interface DesignStore {
  exists(key: string): Promise<number>;
  hset(key: string, fields: Record<string, Buffer>): Promise<number>;
  expire(key: string, seconds: number): Promise<number>;
  hgetallBuffer(key: string): Promise<Record<string, Buffer>>;
}

/** BullMQ connection options from redis://host:port[/db] (KLN1014 for anything else). */
export function redisConnection(url: string, opts: { worker?: boolean } = {}): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    fail('BadArgument', `--redis must be a URL like redis://host:6379, not '${url}'`);
  }
  if (u.protocol !== 'redis:' || !u.hostname) fail('BadArgument', `--redis must be a URL like redis://host:6379, not '${url}'`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) fail('BadArgument', `--redis database must be a non-negative integer, not '${u.pathname.slice(1)}'`);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    connectTimeout: 5000,
    // A worker waits for Redis to come back (BullMQ requires no per-request retry limit there); a
    // producer gives up at once, so that a lost Redis ends its run with a clear error.
    ...(opts.worker ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, retryStrategy: (times: number) => (times > 2 ? null : 200) }),
  };
}

/** A design directory's files and its content hash (sha256 over sorted paths and contents). */
export function packDesign(dir: string): { hash: string; files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return { hash: designHash(files), files };
}

export function designHash(files: Map<string, Buffer>): string {
  const h = createHash('sha256');
  for (const path of [...files.keys()].sort()) {
    const data = files.get(path)!;
    h.update(`${path}\0${data.length}\0`);
    h.update(data);
  }
  return h.digest('hex');
}

/** Awaits `p` for at most `ms`; KLN3007 naming `what` when Redis does not answer (or refuses). */
export async function bounded<T>(p: Promise<T>, ms: number, what: string, url: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms);
      }),
    ]);
  } catch (e) {
    if (e instanceof KilnError) throw e;
    const msg = (e as Error).message;
    const why = /max retries per request|Connection is closed|ECONNRESET|EPIPE/i.test(msg) ? 'connection lost' : msg;
    fail('QueueUnavailable', `Redis at ${url} is unavailable while ${what} (${why})`);
  } finally {
    clearTimeout(timer);
  }
}

/** A KilnError from a worker's failure reason ('KLNxxxx message'), else KLN3002 naming the job. */
function jobError(reason: string, what: string): KilnError {
  const m = /^(KLN\d{4}) ([\s\S]*)$/.exec(reason);
  if (m) return new KilnError({ code: m[1], message: m[2] });
  return new KilnError({ code: Code.ToolFailed, message: `${what} failed on a worker: ${reason}` });
}

export interface QueueClientOptions {
  /** Seconds a job may take from enqueueing to its result (default 3600). */
  jobTimeoutSeconds?: number;
  /** Milliseconds one Redis call may take (default 5000). */
  redisTimeoutMs?: number;
  /** Milliseconds between polls of a job's state (default 200). */
  pollMs?: number;
}

/** The producer side: uploads designs and runs jobs to their results. */
export class QueueClient {
  private readonly queue: Queue;
  private readonly redisMs: number;
  private readonly jobMs: number;
  private readonly pollMs: number;
  /** Jobs whose first run was lost with its worker and that ran again (BullMQ's stalled counter). */
  retried = 0;
  private lostConnection?: Error;

  constructor(readonly url: string, opts: QueueClientOptions = {}) {
    this.redisMs = opts.redisTimeoutMs ?? 5000;
    this.jobMs = 1000 * (opts.jobTimeoutSeconds ?? 3600);
    this.pollMs = opts.pollMs ?? 200;
    this.queue = new Queue(QUEUE_NAME, { connection: redisConnection(url) });
    // Connection errors surface through the bounded calls; without a listener they would crash the process.
    this.queue.on('error', (e) => (this.lostConnection = e));
  }

  private call<T>(p: Promise<T>, what: string): Promise<T> {
    return bounded(p, this.redisMs, what, this.url);
  }

  /** Stores the design's files under its hash (once: skipped when Redis has it already); returns the hash. */
  async uploadDesign(dir: string): Promise<string> {
    const { hash, files } = packDesign(dir);
    const what = `storing design ${hash.slice(0, 12)} (${dir})`;
    const client = (await this.call(this.queue.client, what)) as unknown as DesignStore;
    const key = designKey(hash);
    if (!(await this.call(client.exists(key), what))) {
      await this.call(client.hset(key, Object.fromEntries(files)), what);
    }
    await this.call(client.expire(key, DESIGN_TTL_SECONDS), what);
    return hash;
  }

  /**
   * Enqueues one job (id `jobId`, so a re-submission of the same id is one job) and waits for its
   * result; `onProgress` gets the job's progress value as the worker reports it.
   */
  async run<T>(jobId: string, data: JobData, what: string, onProgress?: (p: number) => void): Promise<T> {
    const name = `job ${jobId} (${what})`;
    await this.call(this.queue.add(data.kind, data, {
      jobId,
      // Retries are for lost or crashed workers; a KilnError (a deadlock, a bad design) fails at once.
      attempts: 3,
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 24 * 3600 },
    }), `enqueueing ${name}`);
    const deadline = Date.now() + this.jobMs;
    for (;;) {
      const job = await this.call(Job.fromId(this.queue, jobId), `waiting for ${name}`);
      if (!job) fail('QueueUnavailable', `${name} disappeared from the queue at ${this.url}`);
      if (job.finishedOn !== undefined) {
        if (job.failedReason !== undefined && job.returnvalue == null) throw jobError(job.failedReason, name);
        if (job.stalledCounter > 0 || job.attemptsMade > 1) this.retried++;
        return job.returnvalue as T;
      }
      if (typeof job.progress === 'number') onProgress?.(job.progress);
      if (Date.now() > deadline) {
        const workers = await this.call(this.queue.getWorkersCount(), `waiting for ${name}`);
        fail('JobTimeout', `${name} did not finish within ${this.jobMs / 1000} s (${workers} worker(s) on queue '${QUEUE_NAME}' at ${this.url})`);
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  async close(): Promise<void> {
    // A queue whose Redis is gone cannot close cleanly; do not wait for it.
    await Promise.race([this.queue.close().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    if (this.lostConnection) this.queue.disconnect().catch(() => {});
  }
}
