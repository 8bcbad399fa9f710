import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentOperation } from '../../agent/src/executors/agent-executor.ts';
import { createScriptExecutor, stopInterruptedRuns, type ScriptExecutorConfig, type ScriptSettings } from '../../agent/src/executors/script-executor.ts';
import { hostContext, killQuietly, processAlive, readPids, removeTempDirs, tempDir, waitFor } from './host-fixtures.ts';

const executor = createScriptExecutor({ killGraceMs: 300, drainMs: 200, output: { maxLines: 50 } });

function config(settings: Partial<ScriptSettings>, host?: ScriptExecutorConfig['host']): ScriptExecutorConfig {
  return { settings: { interpreter: '/bin/bash', keepData: true, ...settings }, ...(host ? { host } : {}) };
}

/** Scripts that keep the installed version in the work dir, as a real install would keep its files. */
const LIFECYCLE: Partial<ScriptSettings> = {
  install: 'set -e\nmkdir -p bin\necho "$APP_VERSION" > version\necho install >> operations\necho "installed $APP_NAME $APP_VERSION"',
  update: 'set -e\ntest -f version\ncp version version.previous\necho "$APP_VERSION" > version\necho update >> operations',
  rollback: 'set -e\necho "$ROLLBACK_VERSION" > version\necho rollback >> operations',
  uninstall: 'set -e\nrm -f version\necho uninstall >> operations',
};

afterAll(removeTempDirs);

describe('script executor: the four operations', () => {
  it('installs on the first deploy, updates on the next, rolls back and uninstalls, reporting versions as it goes', async () => {
    const state = await tempDir();
    const workDir = join(await tempDir(), 'opt', 'web');
    const settings = config({ ...LIFECYCLE, workDir });
    const steps: { operation: AgentOperation; version: string; currentVersion?: string; expected: object; file?: string }[] = [
      { operation: 'install', version: '1.0.0', expected: { status: 'succeeded', installed: true, version: '1.0.0' }, file: '1.0.0' },
      { operation: 'update', version: '2.0.0', currentVersion: '1.0.0', expected: { status: 'succeeded', installed: true, version: '2.0.0', previousVersion: '1.0.0' }, file: '2.0.0' },
      { operation: 'rollback', version: '1.0.0', currentVersion: '2.0.0', expected: { status: 'succeeded', installed: true, version: '1.0.0', previousVersion: '2.0.0' }, file: '1.0.0' },
      { operation: 'uninstall', version: '1.0.0', currentVersion: '1.0.0', expected: { status: 'succeeded', installed: false, previousVersion: '1.0.0' } },
    ];
    for (const step of steps) {
      const { context } = hostContext(state, { operation: step.operation, version: step.version, ...(step.currentVersion ? { currentVersion: step.currentVersion } : {}) });
      const result = await executor.run(settings, context);
      expect(result, step.operation).toMatchObject(step.expected);
      if (step.operation === 'uninstall') expect(result.version).toBeUndefined();
      if (step.file) expect((await readFile(join(workDir, 'version'), 'utf8')).trim()).toBe(step.file);
    }
    expect((await readFile(join(workDir, 'operations'), 'utf8')).trim().split('\n')).toEqual(['install', 'update', 'rollback', 'uninstall']);
    expect(existsSync(join(workDir, 'version'))).toBe(false);
  });

  it.each([
    { operation: 'install' as const, settings: { update: 'echo "ran $0"' }, stand: 'update' },
    { operation: 'update' as const, settings: { install: 'echo "ran $0"' }, stand: 'install' },
  ])('runs the $stand script for $operation when the app has no $operation script', async ({ operation, settings, stand }) => {
    const { context, logs } = hostContext(await tempDir(), { operation, ...(operation === 'update' ? { currentVersion: '0.9.0' } : {}) });
    const result = await executor.run(config(settings), context);
    expect(result, result.error).toMatchObject({ status: 'succeeded', installed: true, version: '1.0.0' });
    expect(logs[0]).toBe(`app web has no ${operation} script: its ${stand} script runs instead`);
  });

  it.each([
    { operation: 'rollback' as const, missing: 'rollback', settings: { install: 'true', update: 'true' } },
    { operation: 'uninstall' as const, missing: 'uninstall', settings: { install: 'true' } },
  ])('fails clearly when the app has no $missing script', async ({ operation, missing, settings }) => {
    const { context } = hostContext(await tempDir(), { operation, currentVersion: '0.9.0' });
    const result = await executor.run(config(settings), context);
    expect(result.status).toBe('failed');
    expect(result.error).toContain(`no ${missing} script`);
    expect(result.error).toContain(`script.${missing}`);
  });

  it.each([
    { operation: 'install' as const, currentVersion: undefined, installed: false, version: undefined },
    { operation: 'update' as const, currentVersion: '1.0.0', installed: true, version: '1.0.0' },
    { operation: 'rollback' as const, currentVersion: '2.0.0', installed: true, version: '2.0.0' },
    { operation: 'uninstall' as const, currentVersion: '2.0.0', installed: true, version: '2.0.0' },
  ])('a failing $operation script fails with its exit code and the tail of stderr, leaving the app as it was', async ({ operation, currentVersion, installed, version }) => {
    const failing = 'echo working\nfor i in $(seq 1 30); do echo "noise $i" >&2; done\necho "disk full" >&2\nexit 3';
    const { context } = hostContext(await tempDir(), { operation, version: '3.0.0', ...(currentVersion ? { currentVersion } : {}) });
    const result = await executor.run(config({ install: failing, update: failing, rollback: failing, uninstall: failing }), context);
    expect(result.status).toBe('failed');
    expect(result.error).toContain(`${operation} script exited with code 3`);
    expect(result.error).toMatch(/disk full$/);
    expect(result.error).not.toContain('noise 1\n');
    expect(result.installed).toBe(installed);
    expect(result.version).toBe(version);
    expect(result.outputTail).toContain('working');
  });
});

describe('script executor: environment', () => {
  const EVIL = [
    '$(touch MARKER)',
    '`touch MARKER`',
    `'; touch MARKER; echo '`,
    '"; touch MARKER; echo "',
    'line one\nline two\n$(touch MARKER)',
    '${HOME} && touch MARKER || touch MARKER',
  ];

  it.each(EVIL.map((value, index) => ({ value, index })))('a value with shell metacharacters reaches the script as data, never run (#$index)', async ({ value }) => {
    const dir = await tempDir();
    const marker = join(dir, 'executed');
    const evil = value.replaceAll('MARKER', marker);
    const { context } = hostContext(dir, { env: { EVIL: evil, APP_VERSION: evil } });
    const script = [
      'printf "%s" "$EVIL" > evil.out',
      'printf "%s" "$FROM_SETTINGS" > settings.out',
      'printf "%s" "$APP_VERSION" > version.out',
      // Unquoted use splits words but does not evaluate them again.
      'echo ${EVIL} > /dev/null',
      'eval_me=$EVIL; echo $eval_me > /dev/null',
    ].join('\n');
    const workDir = join(dir, 'work');
    const result = await executor.run(config({ install: script, workDir, environment: { FROM_SETTINGS: evil } }), context);
    expect(result.status, result.error).toBe('succeeded');
    expect(await readFile(join(workDir, 'evil.out'), 'utf8')).toBe(evil);
    expect(await readFile(join(workDir, 'settings.out'), 'utf8')).toBe(evil);
    expect(await readFile(join(workDir, 'version.out'), 'utf8')).toBe(evil);
    expect(existsSync(marker)).toBe(false);
  });

  it('passes built-in variables, settings and the operator variables, and nothing else of the agent environment', async () => {
    const state = await tempDir();
    const base = await tempDir();
    process.env.SHIPWAY_AGENT_TOKEN = 'agent-secret';
    try {
      const { context } = hostContext(state, {
        operation: 'update',
        version: '2.0.0',
        currentVersion: '1.0.0',
        env: { RELEASE_ID: 'r-1', APP_ENV: 'prod', OVERRIDDEN: 'by-operator', 'odd-name': 'x' },
      });
      const script = 'env > env.out';
      const result = await executor.run(
        config(
          { update: script, workDir: 'apps/${APP_NAME}-${APP_ENV}', environment: { APP_PORT: '8080', LISTEN: ':${APP_PORT}', OVERRIDDEN: 'by-settings', GREETING: 'hello ${APP_NAME}' } },
          { workDir: base, backupDir: join(base, 'backups') },
        ),
        context,
      );
      expect(result.status, result.error).toBe('succeeded');
      const workDir = join(base, 'apps', 'web-prod');
      const env = Object.fromEntries(
        (await readFile(join(workDir, 'env.out'), 'utf8')).trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      expect(env).toMatchObject({
        APP_NAME: 'web',
        APP_VERSION: '2.0.0',
        CURRENT_VERSION: '1.0.0',
        ROLLBACK_VERSION: '',
        WORK_DIR: workDir,
        BACKUP_DIR: join(base, 'backups'),
        RELEASE_ID: 'r-1',
        APP_PORT: '8080',
        GREETING: 'hello web',
        OVERRIDDEN: 'by-operator',
        odd_name: 'x',
        PATH: process.env.PATH,
      });
      // Settings refer to the operator's variables and the built-ins; a reference to another setting stays as written.
      expect(env.LISTEN).toBe(':${APP_PORT}');
      expect(env.SHIPWAY_AGENT_TOKEN).toBeUndefined();
    } finally {
      delete process.env.SHIPWAY_AGENT_TOKEN;
    }
  });

  it('passes the package of the release as ARTIFACT_URL, its version filled in, unless the operator sent one', async () => {
    const url = 'https://artifacts.example/web/${APP_VERSION}/web.tar.gz';
    const sha256 = 'a'.repeat(64);
    const cases: { env: Record<string, string>; expected: string }[] = [
      { env: {}, expected: 'https://artifacts.example/web/2.0.0/web.tar.gz' },
      { env: { ARTIFACT_URL: 'https://mirror.example/web.tar.gz' }, expected: 'https://mirror.example/web.tar.gz' },
    ];
    for (const { env, expected } of cases) {
      const { context, logs } = hostContext(await tempDir(), { version: '2.0.0', env });
      const result = await executor.run({ ...config({ install: 'echo "$ARTIFACT_URL $ARTIFACT_SHA256"' }), package: { url, sha256 } }, context);
      expect(result.status, result.error).toBe('succeeded');
      expect(logs).toEqual([`${expected} ${sha256}`]);
    }
  });

  it('refuses a work dir that refers to a variable nobody set', async () => {
    const { context } = hostContext(await tempDir());
    const result = await executor.run(config({ install: 'true', workDir: '/opt/${TEAM}/${APP_NAME}' }), context);
    expect(result).toMatchObject({ status: 'failed', installed: false });
    expect(result.error).toContain('${TEAM}');
  });

  it('writes the script to a file in the state dir, runs it from there and removes it afterwards', async () => {
    const state = await tempDir();
    const { context, logs } = hostContext(state);
    const result = await executor.run(config({ install: 'echo "script=$0"\necho "args=$#"' }), context);
    expect(result.status, result.error).toBe('succeeded');
    const scriptLine = logs.find((line) => line.startsWith('script='))!;
    expect(scriptLine.startsWith(`script=${join(state, 'scripts')}/`)).toBe(true);
    expect(logs).toContain('args=0');
    expect(await readdir(join(state, 'scripts'))).toEqual([]);
  });

  it.each([
    { interpreter: '/bin/bash -e', script: 'false\necho not reached', status: 'failed', log: undefined },
    { interpreter: '/bin/bash', script: 'false\necho reached', status: 'succeeded', log: 'reached' },
    { interpreter: '/usr/bin/env sh', script: 'echo "from sh"', status: 'succeeded', log: 'from sh' },
    { interpreter: '/no/such/interpreter', script: 'true', status: 'failed', log: undefined },
  ])('runs the script with interpreter $interpreter', async ({ interpreter, script, status, log }) => {
    const { context, logs } = hostContext(await tempDir());
    const result = await executor.run(config({ interpreter, install: script }), context);
    expect(result.status, result.error).toBe(status);
    if (log) expect(logs).toContain(log);
    if (interpreter.startsWith('/no/')) expect(result.error).toContain('/no/such/interpreter');
    expect(logs).not.toContain('not reached');
  });

  it.runIf(process.getuid?.() === 0 && userInfo().username !== 'nobody')('runs the work as the target user, in a work dir made theirs', async () => {
    const state = await tempDir();
    const base = await tempDir();
    const { chmod } = await import('node:fs/promises');
    await chmod(base, 0o755);
    const { context, logs } = hostContext(state);
    const result = await executor.run(config({ install: 'id -un\ntouch owned-file' }, { workDir: base, user: 'nobody' }), context);
    expect(result.status, result.error).toBe('succeeded');
    expect(logs).toContain('nobody');
    expect(existsSync(join(base, 'web', 'owned-file'))).toBe(true);
  });
});

describe('script executor: stopping work', () => {
  /** Records the pids of a background sleep, a backgrounded subshell and its own child, and one that ignores SIGTERM. */
  const SPAWNER = [
    'sleep 300 & echo $! >> "$PIDS"',
    '( sleep 300 & echo $! >> "$PIDS"; wait ) & echo $! >> "$PIDS"',
    "( trap '' TERM; sleep 300 ) & echo $! >> \"$PIDS\"",
    'echo started',
    'sleep 300',
  ].join('\n');

  it('a timeout kills the whole process group, grandchildren included', async () => {
    const dir = await tempDir();
    const pids = join(dir, 'pids');
    const { context } = hostContext(dir, { env: { PIDS: pids } });
    const started = Date.now();
    const result = await executor.run(config({ install: SPAWNER, timeouts: { install: 1, update: 300, rollback: 180, uninstall: 120 } }), context);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(result).toMatchObject({ status: 'failed', installed: false });
    expect(result.error).toContain('install script timed out after 1 s');
    const children = await readPids(pids);
    expect(children).toHaveLength(4);
    for (const pid of children) expect(processAlive(pid), `pid ${pid}`).toBe(false);
  });

  it('the context signal cancels the work and kills its process group', async () => {
    const dir = await tempDir();
    const pids = join(dir, 'pids');
    const controller = new AbortController();
    const { context, logs } = hostContext(dir, { operation: 'update', currentVersion: '1.0.0', env: { PIDS: pids }, signal: controller.signal });
    const running = executor.run(config({ update: SPAWNER }), context);
    await waitFor(() => logs.includes('started'));
    controller.abort(new Error('cancelled by alice'));
    const result = await running;
    expect(result).toMatchObject({ status: 'failed', installed: true, version: '1.0.0' });
    expect(result.error).toContain('cancelled (cancelled by alice)');
    for (const pid of await readPids(pids)) expect(processAlive(pid), `pid ${pid}`).toBe(false);
  });

  it('does not start at all when the signal has already fired', async () => {
    const dir = await tempDir();
    const controller = new AbortController();
    controller.abort();
    const { context } = hostContext(dir, { signal: controller.signal });
    const result = await executor.run(config({ install: 'touch ran', workDir: join(dir, 'w') }), context);
    expect(result.status).toBe('failed');
    expect(existsSync(join(dir, 'w', 'ran'))).toBe(false);
  });

  it('a daemon the script leaves running does not hold the task, and is left running', async () => {
    const dir = await tempDir();
    const pids = join(dir, 'pids');
    const { context, logs } = hostContext(dir, { env: { PIDS: pids } });
    const started = Date.now();
    const result = await executor.run(config({ install: 'sleep 30 & echo $! > "$PIDS"\necho launched' }), context);
    const daemons = await readPids(pids);
    try {
      expect(result.status, result.error).toBe('succeeded');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(logs.at(-1)).toContain('still hold its output');
      expect(processAlive(daemons[0]!)).toBe(true);
    } finally {
      killQuietly(daemons);
    }
  });
});

describe('script executor: an agent that died mid-task', () => {
  it('leaves its process groups running, and the next agent stops them at start-up', async () => {
    const state = await tempDir();
    const pids = join(state, 'pids');
    const runner = join(state, 'dying-agent.mts');
    const module = new URL('../../agent/src/executors/script-executor.ts', import.meta.url).pathname;
    await writeFile(
      runner,
      [
        `import { createScriptExecutor } from ${JSON.stringify(module)};`,
        `const context = { taskId: 't-crash', operation: 'install', app: 'web', version: '1.0.0', env: { PIDS: ${JSON.stringify(pids)} },`,
        `  signal: new AbortController().signal, log() {}, progress() {}, stateDir: ${JSON.stringify(state)} };`,
        `await createScriptExecutor().run({ settings: { interpreter: '/bin/bash', install: 'sleep 300 & echo $! >> "$PIDS"\\necho $$ >> "$PIDS"\\nsleep 300' } }, context);`,
      ].join('\n'),
    );
    const agent = spawn(process.execPath, ['--import', 'tsx', runner], { stdio: 'ignore' });
    const survivors: number[] = [];
    try {
      await waitFor(async () => existsSync(pids) && (await readPids(pids)).length === 2, 15_000);
      survivors.push(...(await readPids(pids)));
      // The agent records the run's process group right after spawning it; on a loaded machine the script can
      // print its pids before that record is on disk, and a kill in between leaves nothing to find.
      const scratch = join(state, 'scripts');
      await waitFor(async () => (await readdir(scratch)).some((run) => existsSync(join(scratch, run, 'run.json'))), 15_000);
      agent.kill('SIGKILL');
      await new Promise((resolve) => agent.once('exit', resolve));
      for (const pid of survivors) expect(processAlive(pid), `pid ${pid} outlives the agent`).toBe(true);

      const stopped = await stopInterruptedRuns(state, { killGraceMs: 300 });
      expect(stopped).toMatchObject([{ taskId: 't-crash', name: 'install script', killed: true }]);
      for (const pid of survivors) expect(processAlive(pid), `pid ${pid}`).toBe(false);
      expect(await readdir(join(state, 'scripts'))).toEqual([]);
    } finally {
      agent.kill('SIGKILL');
      killQuietly(survivors);
    }
  });
});

describe('script executor: output', () => {
  it('streams every line to the log and keeps a bounded tail that counts what it dropped', async () => {
    const { context, logs } = hostContext(await tempDir());
    const result = await executor.run(config({ install: 'seq 1 100000' }), context);
    expect(result.status, result.error).toBe('succeeded');
    expect(logs).toHaveLength(100000);
    expect(logs.at(-1)).toBe('100000');
    const tail = result.outputTail!.split('\n');
    expect(tail[0]).toBe('[99950 earlier lines dropped]');
    expect(tail).toHaveLength(51);
    expect(tail.at(-1)).toBe('100000');
  });

  it('cuts a line that never ends', async () => {
    const { context, logs } = hostContext(await tempDir());
    const result = await executor.run(config({ install: "head -c 1000000 /dev/zero | tr '\\0' a\necho\necho after" }), context);
    expect(result.status, result.error).toBe('succeeded');
    expect(logs).toHaveLength(2);
    expect(logs[0]!.length).toBeLessThan(20_000);
    expect(logs[0]).toContain('[line cut:');
    expect(logs[1]).toBe('after');
  });
});
