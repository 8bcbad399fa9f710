/** The `shipway` command line. */
import { Command, CommanderError } from 'commander';
import { PathNotFoundError } from './manifest-files.ts';
import type { OperatorCommandOptions } from './operator-command.ts';
import type { Output } from './validate-command.ts';
import type { AgentCommandOptions } from './agent-command.ts';
import type { RollbackCommandOptions } from './rollback-command.ts';
import { UsageError } from './usage-error.ts';
import { RELEASE_ACTIONS, type ReleaseActionName } from './action-names.ts';
import type { ActionCommandOptions } from './release-commands.ts';
import type { StatusCommandOptions } from './status-command.ts';
import type { HistoryCommandOptions } from './history-command.ts';

// Each command's module is loaded when that command runs: the operator, the database drivers and the
// Kubernetes client take seconds to load, which `kubectl shipway status` should not pay for the others.
const commands = {
  operator: () => import('./operator-command.ts'),
  validate: () => import('./validate-command.ts'),
  agent: () => import('./agent-command.ts'),
  rollback: () => import('./rollback-command.ts'),
  kube: () => import('./kube-access.ts'),
  actions: () => import('./release-commands.ts'),
  status: () => import('./status-command.ts'),
  history: () => import('./history-command.ts'),
};

const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** `name` is how the user called it: `kubectl shipway` when kubectl runs bin/kubectl-shipway.js as a plugin. */
export async function main(argv: readonly string[], io: Output = consoleOutput, name = 'shipway'): Promise<number> {
  let exitCode = 0;
  const program = new Command()
    .name(name)
    .description('Shipway: releases as Kubernetes custom resources.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });

  program
    .command('validate')
    .description('Check Shipway manifests against the CRD schemas, their CEL rules and the semantic checks.')
    .argument('<paths...>', 'manifest files or directories (searched for *.yaml, *.yml, *.json)')
    .action(async (paths: string[]) => {
      exitCode = await (await commands.validate()).runValidate(paths, io);
    });

  program
    .command('operator')
    .description('Run the operator: reconcile Releases, Pipelines, Targets and ReleaseApps until SIGTERM.')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--database-url <url>', 'PostgreSQL URL (default: DATABASE_URL; without one, embedded PGlite)')
    .option('--data-dir <dir>', 'PGlite data directory (default: in memory)')
    .option('--namespace <ns>', 'watch one namespace (default: all)')
    .option('--lease-namespace <ns>', 'namespace of the leader-election Lease (default: the watched one, else default)')
    .option('--identity <id>', 'this replica in the Lease (default: host name and pid)')
    .option('--install-crds', 'create the Shipway CRDs that do not exist yet before starting (existing ones are left alone)')
    .option('--keep-finished <n>', 'finished Releases kept per namespace (history stays in the database)')
    .option('--concurrency <n>', 'Releases reconciled at once (default 8)')
    .option('--poll-interval <ms>', 'how often a rolling-out workload is looked at (default 500)')
    .option('--lease-duration <ms>', 'leader election: a lease not renewed this long may be taken over (default 15000)')
    .option('--renew-deadline <ms>', 'leader election: a leader that cannot renew this long stops leading (default 10000)')
    .option('--retry-period <ms>', 'leader election: how often the lease is renewed or tried (default 2000)')
    .option('--agent-port <port>', 'serve agents (docker, script, gitpull targets) over QUIC on this UDP port; 0 picks one')
    .option('--agent-host <address>', 'address the agent endpoint binds (default 0.0.0.0)')
    .option('--agent-hostnames <names>', 'comma-separated names and addresses agents dial (certificate SANs; default localhost,127.0.0.1)')
    .option('--agent-namespace <ns>', "the operator's namespace for agent credential and certificate Secrets (default: the lease namespace)")
    .option('--http-port <port>', 'serve /healthz, /readyz, /metrics and POST /api/v1/builds/notify on this TCP port; 0 picks one', '8080')
    .option('--http-host <address>', 'address the HTTP endpoint binds (default 0.0.0.0)')
    .option('--webhook-secret-file <file>', 'the build webhook\'s shared secret (bearer token or HMAC key), read from this file (default: SHIPWAY_WEBHOOK_SECRET)')
    .action(async (options: OperatorCommandOptions) => {
      exitCode = await (await commands.operator()).runOperator({ ...options, databaseUrl: options.databaseUrl ?? process.env.DATABASE_URL }, io.out);
    });

  const storeOptions = (command: Command) =>
    command
      .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config or in-cluster)')
      .option('--database-url <url>', "the operator's PostgreSQL URL (default: DATABASE_URL)")
      .option('--data-dir <dir>', "the operator's PGlite data directory");
  // An explicit --data-dir means the embedded database there, whatever DATABASE_URL says.
  const withEnv = (options: AgentCommandOptions) => ({ ...options, databaseUrl: options.databaseUrl ?? (options.dataDir ? undefined : process.env.DATABASE_URL) });
  const agent = program.command('agent').description('Agent credentials: issue, revoke, list.');
  storeOptions(agent.command('issue').description('Issue a new credential for an agent (into Secret shipway-agent-<id>); the old one stops working.').argument('<agent-id>'))
    .option('--namespace <ns>', "the operator's namespace, where credential Secrets live", 'default')
    .action(async (id: string, options: AgentCommandOptions) => { exitCode = await (await commands.agent()).runAgentIssue(id, withEnv(options), io.out); });
  storeOptions(agent.command('revoke').description('Revoke an agent: it is refused from now on and its Secret is deleted.').argument('<agent-id>'))
    .option('--namespace <ns>', "the operator's namespace, where credential Secrets live", 'default')
    .action(async (id: string, options: AgentCommandOptions) => { exitCode = await (await commands.agent()).runAgentRevoke(id, withEnv(options), io.out); });
  storeOptions(agent.command('list').description('Agents known to the operator, with status and last heartbeat.'))
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (options: AgentCommandOptions) => { exitCode = await (await commands.agent()).runAgentList(withEnv(options), io.out); });
  storeOptions(program.command('instances').description('Every instance (target) of an app with its version, and a version summary.').argument('<app>'))
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (app: string, options: AgentCommandOptions) => { exitCode = await (await commands.agent()).runInstances(app, withEnv(options), io.out); });

  const collect = (value: string, previous: string[] = []) => [...previous, value];
  program
    .command('rollback')
    .description('Roll back targets of a release (all it updated, one, or a batch) and follow the rollback until it ends.')
    .argument('<release>')
    .option('-n, --namespace <ns>', "the Release's namespace", 'default')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('-t, --target <names>', 'a target to roll back (repeat it, or separate names by commas, for a batch); default every target the release updated', collect)
    .option('--to-version <version>', 'the version to go back to (default: the version each target ran before)')
    .option('--kind <kind>', 'quick (the targets go back) or redeploy (a new Release of --to-version through the full pipeline)')
    .option('--force', 'roll back past a db_migrate task that has run')
    .option('--actor <name>', 'who asks (default: the local user name)')
    .option('--comment <text>', 'why, for the history')
    .option('--no-wait', 'return once the operator has accepted the request')
    .option('--timeout <seconds>', 'how long to follow the rollback (default 600)')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (release: string, options: RollbackCommandOptions) => { exitCode = await (await commands.rollback()).runRollback(release, options, io.out, io.err); });
  program
    .command('rollback-status')
    .description('The rollback state of a release: every target rolling back, rolled back, or whose rollback failed.')
    .argument('<release>')
    .option('-n, --namespace <ns>', "the Release's namespace", 'default')
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'the kubeconfig context to use')
    .option('-o, --output <format>', 'table or json', 'table')
    .action(async (release: string, options: RollbackCommandOptions) => { exitCode = await (await commands.rollback()).runRollbackStatus(release, options, io.out, io.err); });

  // ---- the commands `kubectl shipway` is for: status, history and the actions, with kubectl's flags.
  const cluster = (command: Command) =>
    command
      .option('-n, --namespace <ns>', "the namespace (default: the kubeconfig context's, else default)")
      .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config or in-cluster)')
      .option('--context <name>', 'the kubeconfig context to use');
  const qualified = (namespace: string | undefined) => (namespace ? `${namespace}/` : '');
  // An API server that cannot be reached or refuses is the command's failure (exit 1), said in one line.
  const guarded = (what: string, run: () => Promise<number>) => async () => {
    try {
      exitCode = await run();
    } catch (error) {
      if (error instanceof UsageError) throw error;
      io.err(`${what}: ${(await commands.kube()).describeError(error)}`);
      exitCode = 1;
    }
  };
  cluster(program.command('status').description('The progress of a release per environment and target; --watch follows it until it ends.').argument('<release>'))
    .option('-w, --watch', 'follow the release until it ends (redrawn in place on a terminal); exits 0 if it succeeded, 1 otherwise')
    .option('-o, --output <format>', 'table (the progress view), json or yaml (the status object)', 'table')
    .action((release: string, options: StatusCommandOptions) => {
      const screen = io === consoleOutput
        ? { tty: process.stdout.isTTY === true, color: !process.env.NO_COLOR, columns: process.stdout.columns, rows: process.stdout.rows }
        : { tty: false };
      return guarded(`release ${qualified(options.namespace)}${release}`, async () => (await commands.status()).runStatus(release, options, io.out, io.err, screen))();
    });
  cluster(program.command('history').description('The deployments of a release and the actions taken on it.').argument('<release>'))
    .option('--database-url <url>', "read the full history from the operator's PostgreSQL database (default: DATABASE_URL; without one, from the cluster)")
    .option('--uid <uid>', 'with --database-url: the Release\'s uid, for a Release no longer in the cluster')
    .option('-o, --output <format>', 'table, json or yaml', 'table')
    .action((release: string, options: HistoryCommandOptions) =>
      guarded(`history of release ${qualified(options.namespace)}${release}`, async () => (await commands.history()).runHistory(release, { ...options, databaseUrl: options.databaseUrl ?? process.env.DATABASE_URL }, io.out, io.err))());

  const ACTION_HELP: Record<ReleaseActionName, string> = {
    approve: 'Approve the environment (or approval task) waiting for approval.',
    reject: 'Reject the environment (or approval task) waiting for approval.',
    start: 'Start the environment waiting to start.',
    promote: 'Start the waiting environment, or promote a canary waiting for promotion to the next step.',
    pause: 'Pause the release between steps and tasks.',
    resume: 'Resume a release paused by pause.',
    cancel: 'Cancel the release and stop its running work.',
    retry: 'Retry the failed targets of a failed release (or the named ones).',
  };
  const actionOptions = (command: Command) =>
    cluster(command)
      .option('--as <user>', "who acts, for approvals and the history (default: the kubeconfig's current user)")
      .option('--comment <text>', 'why, for the history')
      .option('--no-wait', 'return once the request is written, without waiting for the operator')
      .option('--timeout <seconds>', "how long to wait for the operator's answer (default 120)")
      .option('-o, --output <format>', "table (a line), json or yaml (the operator's answer)", 'table');
  for (const action of RELEASE_ACTIONS) {
    const command = actionOptions(program.command(action).description(ACTION_HELP[action]).argument('<release>'));
    if (action === 'start' || action === 'promote') {
      command
        .option('--environment <name>', 'refuse unless this is the environment the release is at')
        .option('--emergency', 'an emergency release: outside the window, no canary verification (needs --comment)');
    }
    if (['pause', 'resume', 'cancel', 'retry'].includes(action)) command.option('--target <name>', action === 'retry' ? 'only these failed targets (separated by commas)' : 'one target');
    command.action((release: string, options: ActionCommandOptions) =>
      guarded(`${action} of release ${qualified(options.namespace)}${release}`, async () => (await commands.actions()).runReleaseAction(action, release, options, io.out, io.err))());
  }
  actionOptions(program.command('switch-version').description("Switch a ReleaseApp to a new version (default: the new tag CI reported in its status) while its release waits.").argument('<releaseapp>'))
    .option('--version <version>', 'the version to switch to (default: status.newTag.tag)')
    .action((app: string, options: ActionCommandOptions) =>
      guarded(`switch-version of releaseapp ${qualified(options.namespace)}${app}`, async () => (await commands.actions()).runSwitchVersion(app, options, io.out, io.err))());

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof PathNotFoundError || error instanceof UsageError) {
      io.err(error.message);
      return 2;
    }
    throw error;
  }
  return exitCode;
}
