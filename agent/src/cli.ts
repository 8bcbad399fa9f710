/** The `shipway-agent` command line: runs the agent until SIGTERM or SIGINT, then shuts down gracefully. */
import { Command, CommanderError } from 'commander';
import { Agent } from './agent.ts';
import { AgentConfigError, agentOptions, loadAgentConfig, type AgentFlags } from './agent-config.ts';
import type { ExecutorLookup } from './task-execution.ts';

export interface AgentMainOverrides {
  /** The executors to run tasks with (default: docker, script, gitpull and the host tasks). */
  executors?: ExecutorLookup;
  log?(line: string): void;
}

const stamp = (line: string) => `${new Date().toISOString()} ${line}`;

/** Resolves with the exit code once the agent has stopped (or failed to start). */
export async function main(argv: readonly string[], overrides: AgentMainOverrides = {}): Promise<number> {
  const log = overrides.log ?? ((line: string) => process.stderr.write(`${stamp(line)}\n`));
  const program = new Command()
    .name('shipway-agent')
    .description('The Shipway agent: dials the operator over QUIC and runs docker, script and git-pull deployments on this host.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .option('--server <host:port>', 'the operator agent endpoint')
    .option('--agent-id <id>', 'this agent id, as Targets name it (default: agent-id in the credential directory)')
    .option('--credential-file <path>', 'the token, or a directory with the keys of the agent credential Secret (agent-id, token, ca.crt)')
    .option('--ca-file <path>', 'the CA that signed the operator certificate (default: ca.crt in the credential directory)')
    .option('--server-name <name>', 'the name the operator certificate must carry (default: the host of --server)')
    .option('--state-dir <dir>', 'where the task journal and installed apps are kept (default: ~/.shipway-agent/<agent id>)')
    .option('--shutdown-grace <seconds>', 'on SIGTERM, how long running tasks may finish before they are cancelled (default 30)')
    .option('--config <file>', 'YAML or JSON file with the same settings (kebab-case keys; flags win)');
  let flags: AgentFlags;
  try {
    program.parse([...argv], { from: 'user' });
    flags = program.opts<AgentFlags>();
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
  let agent: Agent;
  try {
    const config = await loadAgentConfig(flags);
    const executors = overrides.executors ?? (await import('./default-executors.ts')).createDefaultExecutors();
    agent = await Agent.create(agentOptions(config, { executors, log }));
    log(`shipway-agent ${config.agentId}: operator ${config.host}:${config.port} (server name ${config.serverName}), state ${config.stateDir}, ${config.describe}`);
  } catch (error) {
    log(`shipway-agent: ${error instanceof AgentConfigError ? error.message : `cannot start: ${(error as Error).message}`}`);
    return 2;
  }
  agent.start();
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals > 1) {
        log(`${signal} again: exiting without waiting for running tasks`);
        process.exit(130);
      }
      log(`${signal}: shutting down`);
      agent.stop().then(
        () => resolve(0),
        (error: unknown) => {
          log(`shutdown failed: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
