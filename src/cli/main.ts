// kiln's command line. Commands live one per file and are registered in the explicit list below.
import yargs, { type Argv, type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Code } from '../diag/index.ts';
import { EXIT_USER_ERROR, reportError } from './errors.ts';
import { execCommand } from './exec.ts';
import { inspectCommand } from './inspect.ts';
import { compileCommand } from './compile.ts';
import { simCommand } from './sim.ts';
import { demoCommand } from './demo.ts';
import { estimateCommand } from './estimate.ts';
import { synthCommand } from './synth.ts';
import { compressCommand } from './compress.ts';
import { bitstreamCommand } from './bitstream.ts';
import { hilCommand } from './hil.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  inspectCommand,
  execCommand,
  compileCommand,
  simCommand,
  demoCommand,
  estimateCommand,
  synthCommand,
  compressCommand,
  bitstreamCommand,
  hilCommand,
];

export function buildCli(argv: string[]): Argv {
  let cli = yargs(argv)
    .scriptName('kiln')
    .usage('$0 <command> [options]\n\nCompile quantized ONNX neural networks into verified Verilog.')
    .strict()
    .demandCommand(1, 'Give a command (see the list above).')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err; // errors from handlers go to reportError
      process.stderr.write(`${Code.BadArgument} ${msg}\nRun 'kiln --help' (or 'kiln <command> --help') for usage.\n`);
      process.exit(EXIT_USER_ERROR);
    });
  for (const c of commands) cli = cli.command(c);
  return cli;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildCli(argv).parseAsync();
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    return reportError(e);
  }
}

process.exitCode = await main(hideBin(process.argv));
