/** The `shipway` command line. */
import { Command, CommanderError } from 'commander';
import { PathNotFoundError } from './manifest-files.ts';
import { runValidate, type Output } from './validate-command.ts';

const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export async function main(argv: readonly string[], io: Output = consoleOutput): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name('shipway')
    .description('Shipway: releases as Kubernetes custom resources.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('validate')
    .description('Check Shipway manifests against the CRD schemas, their CEL rules and the semantic checks.')
    .argument('<paths...>', 'manifest files or directories (searched for *.yaml, *.yml, *.json)')
    .action(async (paths: string[]) => {
      exitCode = await runValidate(paths, io);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof PathNotFoundError) {
      io.err(error.message);
      return 2;
    }
    throw error;
  }
  return exitCode;
}
