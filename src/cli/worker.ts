// kiln worker --redis redis://host:port [--concurrency N]: takes simulation and synthesis jobs from the
// BullMQ queue 'kiln' until SIGINT/SIGTERM (src/flow/worker.ts). Logs each job on stderr.
import type { CommandModule } from 'yargs';
import { fail } from '../diag/index.ts';
import { startWorker } from '../flow/worker.ts';
import { numberOption } from './options.ts';

interface WorkerArgs { redis: string; concurrency: number; 'lock-ms': number }

export const workerCommand: CommandModule<object, WorkerArgs> = {
  command: 'worker',
  describe: "Take 'kiln sim --redis' jobs (and synth jobs) from a BullMQ queue on Redis",
  builder: (y) => y
    .option('redis', { type: 'string', demandOption: true, describe: 'the queue: redis://host:port[/db]' })
    .option('concurrency', numberOption('concurrency', { integer: true, min: 1, default: 1, describe: 'jobs run at once (one simulator process each)' }))
    .option('lock-ms', numberOption('lock-ms', { integer: true, min: 1000, unit: 'ms', default: 30_000, describe: "a job's lock: a lost worker's job runs again after about this" })),
  handler: async (args) => {
    const log = (l: string) => process.stderr.write(`kiln worker: ${l}\n`);
    const worker = await startWorker(args.redis, { concurrency: args.concurrency, lockMs: args['lock-ms'], log });
    log(`taking jobs from ${args.redis} (concurrency ${args.concurrency})`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        log('stopping after the running jobs');
        void worker.close().then(resolve, resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  },
};
