// kiln's command line. Commands live one per file and are registered in the explicit list below.
import yargs, { type Argv, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Code, formatDiagnostic } from '../diag/index.ts';
import { EXIT_USER_ERROR, reportError } from './errors.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Command = CommandModule<any, any>;

/**
 * The commands by name, in help order, each imported only when used: a command's modules (the ONNX
 * importer, codegen's templates, the simulator's process handling …) cost startup time that the others,
 * `kiln estimate` above all, should not pay.
 */
export const commandLoaders: Record<string, () => Promise<Command>> = {
  inspect: async () => (await import('./inspect.ts')).inspectCommand,
  exec: async () => (await import('./exec.ts')).execCommand,
  compile: async () => (await import('./compile.ts')).compileCommand,
  sim: async () => (await import('./sim.ts')).simCommand,
  demo: async () => (await import('./demo.ts')).demoCommand,
  estimate: async () => (await import('./estimate.ts')).estimateCommand,
  synth: async () => (await import('./synth.ts')).synthCommand,
  compress: async () => (await import('./compress.ts')).compressCommand,
  bitstream: async () => (await import('./bitstream.ts')).bitstreamCommand,
  hil: async () => (await import('./hil.ts')).hilCommand,
  cache: async () => (await import('./cache.ts')).cacheCommand,
  worker: async () => (await import('./worker.ts')).workerCommand,
};

/** Every command, in help order. */
export async function loadCommands(): Promise<Command[]> {
  return Promise.all(Object.values(commandLoaders).map((load) => load()));
}

/**
 * The commands a command line needs: the one it names (its first word, when that is a command; yargs
 * then parses and helps as with all registered), else all (`kiln --help`, a typo's "Did you mean").
 */
export async function commandsFor(argv: string[]): Promise<Command[]> {
  const first = argv.find((a) => !a.startsWith('-'));
  const load = first !== undefined && Object.hasOwn(commandLoaders, first) ? commandLoaders[first] : undefined;
  return load ? [await load()] : loadCommands();
}

/** yargs' complaint as one line, with where to read the usage (the command's own help when known). */
function usageMessage(argv: string[], msg: string): string {
  const first = argv.find((a) => !a.startsWith('-'));
  const known = first !== undefined && Object.hasOwn(commandLoaders, first);
  const what = !known && first !== undefined && msg.startsWith('Did you mean') ? `Unknown command '${first}'. ` : '';
  return `${what}${msg.replace(/\s*\n\s*/g, ' ')} (see 'kiln ${known ? `${first} ` : ''}--help')`;
}

export async function buildCli(argv: string[]): Promise<Argv> {
  let cli = yargs(argv)
    .scriptName('kiln')
    .usage('$0 <command> [options]\n\nCompile quantized ONNX neural networks into verified Verilog.')
    .strict()
    .demandCommand(1, 'Give a command')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      // yargs' own errors (YError) are usage errors; it also rewraps a KilnError thrown by an
      // option's coerce (options.ts), whose message is then already the formatted line.
      if (err && err.name !== 'YError') throw err; // errors from handlers go to reportError
      const text = err?.message ?? msg;
      const line = /^KLN\d{4} /.test(text) ? text : formatDiagnostic({ code: Code.BadArgument, message: usageMessage(argv, text) });
      process.stderr.write(`${line}\n`);
      process.exit(EXIT_USER_ERROR);
    });
  for (const c of await commandsFor(argv)) cli = cli.command(c);
  return cli;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildCli(argv)).parseAsync();
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    return reportError(e);
  }
}

process.exitCode = await main(hideBin(process.argv));
