import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentTaskContext } from '../../agent/src/executors/agent-executor.ts';
import { ExecutorRegistry } from '../../agent/src/executors/executor-registry.ts';
import { createHostTaskExecutors } from '../../agent/src/executors/host-task-executors.ts';
import { hostContext, killQuietly, processAlive, readPids, removeTempDirs, tempDir, waitFor } from './host-fixtures.ts';
import { closedPort } from '../support/ports.ts';

const registry = new ExecutorRegistry(createHostTaskExecutors({ killGraceMs: 300, drainMs: 200 }));
const leftovers: number[] = [];

afterAll(async () => {
  killQuietly(leftovers);
  await removeTempDirs();
});

async function run(type: string, config: unknown, overrides: Partial<AgentTaskContext> = {}, stateDir?: string) {
  const recorded = hostContext(stateDir ?? (await tempDir()), { operation: 'update', currentVersion: '1.0.0', version: '2.0.0', ...overrides });
  const result = await registry.run(`task:${type}`, config, recorded.context);
  return { result, logs: recorded.logs };
}

describe('health_check on a host', () => {
  let http: HttpServer;
  let base: string;
  let port: string;
  let flaky: number[] = [];
  let tcp: TcpServer;
  let tcpPort: number;

  beforeAll(async () => {
    http = createHttpServer((req, res) => {
      if (req.url === '/flaky') res.writeHead(flaky.shift() ?? 200).end();
      else if (req.url?.startsWith('/status/')) res.writeHead(Number(req.url.slice(8))).end();
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = String((http.address() as AddressInfo).port);
    base = `http://127.0.0.1:${port}`;
    tcp = createTcpServer((socket) => socket.end());
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    tcpPort = (tcp.address() as AddressInfo).port;
  });
  afterAll(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    await new Promise((resolve) => tcp.close(resolve));
  });

  const fast = { timeoutSeconds: 2, intervalSeconds: 1, successThreshold: 1 };

  it('passes an http check, with ${VAR} in the URL taken from the variables', async () => {
    const { result, logs } = await run('health_check', { type: 'http', url: 'http://127.0.0.1:${APP_PORT}/health', retry: 0, ...fast }, { env: { APP_PORT: port } });
    expect(result, result.error).toMatchObject({ status: 'succeeded', installed: true, version: '1.0.0' });
    expect(logs[0]).toBe(`GET ${base}/health: 200 OK (try 1, 1/1 consecutive successes)`);
  });

  it('retries an http check until it passes', async () => {
    flaky = [503];
    const { result, logs } = await run('health_check', { type: 'http', url: `${base}/flaky`, retry: 2, ...fast });
    expect(result.status, result.error).toBe('succeeded');
    expect(logs[0]).toContain('503 Service Unavailable, expected a 2xx status (try 1, failure 1 of at most 3)');
  });

  it.each([
    { name: 'an http check answered with the wrong status', config: () => ({ type: 'http', url: `${base}/status/500`, retry: 1 }), error: '500 Internal Server Error, expected a 2xx status (2 tries failed)' },
    { name: 'an http check of an expected status', config: () => ({ type: 'http', url: `${base}/status/200`, expectStatus: 204, retry: 0 }), error: '200 OK, expected 204 (the only try failed)' },
    { name: 'a tcp check of a closed port', config: async () => ({ type: 'tcp', host: '127.0.0.1', port: await closedPort(), retry: 0 }), error: 'ECONNREFUSED' },
    { name: 'a script check that exits 1', config: () => ({ type: 'script', script: 'echo "db down" >&2; exit 1', retry: 0 }), error: 'script: health check script exited with code 1; stderr:\ndb down' },
  ])('fails $name', async ({ config, error }) => {
    const { result } = await run('health_check', { ...(await config()), ...fast });
    expect(result.status).toBe('failed');
    expect(result.error).toContain(error);
  });

  it.each([
    { name: 'tcp', config: () => ({ type: 'tcp', host: '127.0.0.1', port: tcpPort, retry: 0 }), seen: 'connected' },
    { name: 'script', config: () => ({ type: 'script', script: 'test "$APP_NAME" = web', retry: 0 }), seen: 'exited 0' },
  ])('passes a $name check', async ({ config, seen }) => {
    const { result, logs } = await run('health_check', { ...config(), ...fast });
    expect(result.status, result.error).toBe('succeeded');
    expect(logs.join('\n')).toContain(seen);
  });

  it('stops retrying when the task is cancelled', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by bob')), 300);
    const started = Date.now();
    const { result } = await run('health_check', { type: 'http', url: `${base}/status/500`, retry: 50, ...fast }, { signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result.error).toBe('health_check was cancelled (cancelled by bob)');
  });
});

describe('backup and cleanup', () => {
  const archives = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith('.tar.gz')).sort();
  const contents = (archive: string) => execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).trim().split('\n').filter((line) => line !== './').sort();

  async function app(): Promise<{ state: string; workDir: string; backupDir: string; env: Record<string, string> }> {
    const root = await tempDir();
    const workDir = join(root, 'opt', 'web');
    const backupDir = join(root, 'backups');
    await mkdir(join(workDir, 'conf'), { recursive: true });
    await mkdir(join(workDir, 'bin'), { recursive: true });
    await writeFile(join(workDir, 'conf', 'app.yaml'), 'port: 8080\n');
    await writeFile(join(workDir, 'bin', 'web'), 'binary');
    await writeFile(join(workDir, 'settings.json'), '{}');
    return { state: await tempDir(), workDir, backupDir, env: { WORK_DIR: workDir, BACKUP_DIR: backupDir } };
  }

  it('archives the work dir into the backup dir, named by time and the version it holds', async () => {
    const { state, workDir, backupDir, env } = await app();
    const { result } = await run('backup', {}, { env }, state);
    expect(result.status, result.error).toBe('succeeded');
    const [archive] = await archives(join(backupDir, 'web'));
    expect(archive).toMatch(/^\d{8}T\d{9}Z_1\.0\.0\.full\.tar\.gz$/);
    expect(contents(join(backupDir, 'web', archive!))).toEqual(['./bin/', './bin/web', './conf/', './conf/app.yaml', './settings.json']);
    expect(result.outputTail).toContain(`backed up ${workDir} to ${join(backupDir, 'web', archive!)}`);
  });

  it('keeps the newest backups within the retention', async () => {
    const { state, backupDir, env } = await app();
    for (let i = 0; i < 4; i++) expect((await run('backup', { retention: 2 }, { env }, state)).result.status).toBe('succeeded');
    expect(await archives(join(backupDir, 'web'))).toHaveLength(2);
  });

  it('backs up only configuration for config_only, and only what changed for incremental', async () => {
    const { state, workDir, backupDir, env } = await app();
    const { result: config } = await run('backup', { type: 'config_only' }, { env }, state);
    expect(config.status, config.error).toBe('succeeded');
    const past = new Date(Date.now() - 3600_000);
    for (const file of ['conf/app.yaml', 'bin/web', 'settings.json']) await utimes(join(workDir, file), past, past);
    await new Promise((r) => setTimeout(r, 1100));
    await writeFile(join(workDir, 'bin', 'web'), 'new binary');
    const { result: incremental } = await run('backup', { type: 'incremental' }, { env }, state);
    expect(incremental.status, incremental.error).toBe('succeeded');
    const [configArchive, incrementalArchive] = await archives(join(backupDir, 'web'));
    expect(contents(join(backupDir, 'web', configArchive!))).toEqual(['./conf/', './conf/app.yaml', './settings.json']);
    expect(incrementalArchive).toMatch(/\.incremental\.tar\.gz$/);
    expect(contents(join(backupDir, 'web', incrementalArchive!)).filter((entry) => !entry.endsWith('/'))).toEqual(['./bin/web']);
  });

  it('leaves out a backup dir that lies inside the work dir', async () => {
    const { state, workDir } = await app();
    const inside = join(workDir, 'backups');
    const { result } = await run('backup', {}, { env: { WORK_DIR: workDir, BACKUP_DIR: inside } }, state);
    expect(result.status, result.error).toBe('succeeded');
    const [archive] = await archives(join(inside, 'web'));
    expect(contents(join(inside, 'web', archive!)).some((entry) => entry.startsWith('./backups'))).toBe(false);
  });

  it('has nothing to back up before the first install', async () => {
    const root = await tempDir();
    const { result } = await run('backup', {}, { operation: 'install', env: { WORK_DIR: join(root, 'absent'), BACKUP_DIR: join(root, 'b') } });
    expect(result.status, result.error).toBe('succeeded');
    expect(result.outputTail).toContain('nothing to back up');
    expect(existsSync(join(root, 'b', 'web'))).toBe(false);
  });

  it('removes old versions beyond keepVersions, never the one in use or the one deployed', async () => {
    const { state, workDir, backupDir, env } = await app();
    const releases = join(workDir, 'releases');
    const versions = ['0.1.0', '0.2.0', '1.0.0', '1.1.0', '2.0.0', '3.0.0-rc'];
    for (const [index, version] of versions.entries()) {
      await mkdir(join(releases, version), { recursive: true });
      const when = new Date(Date.now() - (versions.length - index) * 60_000);
      await utimes(join(releases, version), when, when);
    }
    await symlink(join(releases, '0.1.0'), join(workDir, 'current'));
    for (let i = 0; i < 3; i++) await run('backup', {}, { env }, state);
    const { result } = await run('cleanup', { keepVersions: 2, cleanBackups: true, versionsDir: 'releases' }, { env, version: '1.0.0', currentVersion: '1.1.0' }, state);
    expect(result.status, result.error).toBe('succeeded');
    // Newest two (3.0.0-rc, 2.0.0), the deployed and the installed (1.0.0, 1.1.0), and what `current` points at (0.1.0).
    expect((await readdir(releases)).sort()).toEqual(['0.1.0', '1.0.0', '1.1.0', '2.0.0', '3.0.0-rc']);
    expect(await archives(join(backupDir, 'web'))).toHaveLength(2);
  });
});

describe('stop_service and start_service', () => {
  it('starts a service, waits until it answers, and stops it by its pid file', async () => {
    const dir = await tempDir();
    const workDir = join(dir, 'web');
    const port = await closedPort();
    const server = `require("http").createServer((q, s) => s.end("up")).listen(Number(process.env.APP_PORT), "127.0.0.1")`;
    const env = { WORK_DIR: workDir, APP_PORT: String(port), SERVER: server, NODE: process.execPath };
    const start = {
      command: 'sleep 0.3; nohup "$NODE" -e "$SERVER" > server.log 2>&1 &\necho $! > "$PID_FILE"',
      pidFile: 'web.pid',
      readyTimeoutSeconds: 10,
      readyCheck: { type: 'http', url: 'http://127.0.0.1:${APP_PORT}/', timeoutSeconds: 1, intervalSeconds: 1 },
    };
    const started = await run('start_service', start, { env });
    const pid = Number(await readFile(join(workDir, 'web.pid'), 'utf8'));
    leftovers.push(pid);
    expect(started.result, started.result.error).toMatchObject({ status: 'succeeded' });
    expect(started.result.outputTail).toContain('the service is ready');
    expect(processAlive(pid)).toBe(true);

    const stopped = await run('stop_service', { command: 'kill "$SERVICE_PID"', pidFile: 'web.pid', gracefulTimeoutSeconds: 5 }, { env });
    expect(stopped.result, stopped.result.error).toMatchObject({ status: 'succeeded' });
    expect(stopped.result.outputTail).toContain(`the service (pid ${pid}) stopped`);
    expect(processAlive(pid)).toBe(false);
  });

  it('counts a service as started once its pid file names a running process', async () => {
    const dir = await tempDir();
    const { result } = await run('start_service', { command: '(sleep 0.2; sleep 30 & echo $! > "$PID_FILE") &', pidFile: 'svc.pid', readyTimeoutSeconds: 5 }, { env: { WORK_DIR: dir } });
    leftovers.push(...(await readPids(join(dir, 'svc.pid'))));
    expect(result.status, result.error).toBe('succeeded');
    expect(result.outputTail).toMatch(/the service is running \(pid \d+\)/);
  });

  it('fails a start whose service never becomes ready within readyTimeoutSeconds', async () => {
    const dir = await tempDir();
    const port = await closedPort();
    const started = Date.now();
    const { result } = await run(
      'start_service',
      { command: 'true', readyTimeoutSeconds: 1, readyCheck: { type: 'tcp', host: '127.0.0.1', port, timeoutSeconds: 1, intervalSeconds: 1 } },
      { env: { WORK_DIR: dir } },
    );
    expect(Date.now() - started).toBeLessThan(4000);
    expect(result.status).toBe('failed');
    expect(result.error).toContain(`the service was not ready within 1 s: tcp 127.0.0.1:${port}: connect ECONNREFUSED`);
  });

  /** A service that ignores SIGTERM, as a hung one would. */
  async function stubbornService(dir: string): Promise<number> {
    const child = spawn('bash', ['-c', "trap '' TERM; exec sleep 300"], { detached: true, stdio: 'ignore' });
    child.unref();
    const pid = child.pid!;
    leftovers.push(pid);
    await writeFile(join(dir, 'svc.pid'), `${pid}\n`);
    // Alive is not enough: until bash has run the trap and exec'd sleep, a SIGTERM still ends it.
    await waitFor(() => processAlive(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep');
    return pid;
  }

  it.each([
    { forceKill: true, status: 'succeeded', message: 'was killed after 1 s', alive: false },
    { forceKill: false, status: 'failed', message: 'is still running 1 s after it was asked to stop, and forceKill is false', alive: true },
  ])('a service that ignores SIGTERM is killed after the grace period only when forceKill is $forceKill', async ({ forceKill, status, message, alive }) => {
    const dir = await tempDir();
    const pid = await stubbornService(dir);
    const { result } = await run('stop_service', { pidFile: join(dir, 'svc.pid'), gracefulTimeoutSeconds: 1, forceKill }, { env: { WORK_DIR: dir } });
    expect(result.status, result.error).toBe(status);
    expect(`${result.outputTail ?? ''} ${result.error ?? ''}`).toContain(message);
    expect(processAlive(pid)).toBe(alive);
  });

  it('a service that was not running counts as stopped', async () => {
    const dir = await tempDir();
    const { result } = await run('stop_service', { pidFile: 'missing.pid' }, { env: { WORK_DIR: dir } });
    expect(result.status, result.error).toBe('succeeded');
    expect(result.outputTail).toContain('the service was not running (no pid in');
  });

  it('a failing stop command fails the task with its exit code', async () => {
    const dir = await tempDir();
    const { result } = await run('stop_service', { command: 'echo "unit not found" >&2; exit 5' }, { env: { WORK_DIR: dir } });
    expect(result.status).toBe('failed');
    expect(result.error).toBe('stop command exited with code 5; stderr:\nunit not found');
  });
});

describe('script task on a host', () => {
  it('runs in its work dir with its own env over the release variables', async () => {
    const dir = await tempDir();
    const { result, logs } = await run(
      'script',
      { script: 'pwd\necho "$MODE $RELEASE_ID $APP_NAME"', workDir: join(dir, 'tests'), env: { MODE: 'smoke', RELEASE_ID: 'task-wins' } },
      { env: { MODE: 'release', RELEASE_ID: 'r-9' } },
    );
    expect(result.status, result.error).toBe('succeeded');
    expect(logs).toEqual([join(dir, 'tests'), 'smoke task-wins web', 'script finished']);
  });

  it('kills the process group of a script that overruns its timeout', async () => {
    const dir = await tempDir();
    const pids = join(dir, 'pids');
    const { result } = await run('script', { script: 'sleep 300 & echo $! > "$PIDS"\nsleep 300', timeoutSeconds: 1 }, { env: { PIDS: pids, WORK_DIR: dir } });
    expect(result.status).toBe('failed');
    expect(result.error).toContain('script timed out after 1 s');
    for (const pid of await readPids(pids)) expect(processAlive(pid)).toBe(false);
  });

  it('notes that an image is for Kubernetes targets', async () => {
    const { result, logs } = await run('script', { script: 'true', image: 'alpine:3' });
    expect(result.status).toBe('succeeded');
    expect(logs[0]).toContain('script.image applies to Kubernetes targets');
  });
});

describe('db_migrate on a host', () => {
  it('runs the migration command in the work dir with MIGRATION_PATH resolved against it', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'app', 'migrations'), { recursive: true });
    await writeFile(join(dir, 'app', 'migrations', '001.sql'), 'create table t();\n');
    const { result, logs } = await run('db_migrate', { command: 'for f in "$MIGRATION_PATH"/*.sql; do echo "applied $(basename "$f") for $APP_VERSION"; done >> migrated.log', migrationPath: 'migrations', workDir: join(dir, 'app') });
    expect(result.status, result.error).toBe('succeeded');
    expect(readFileSync(join(dir, 'app', 'migrated.log'), 'utf8')).toBe('applied 001.sql for 2.0.0\n');
    expect(logs.at(-1)).toBe(`migration finished (${join(dir, 'app', 'migrations')})`);
  });

  it('fails with the exit code of a failing migration, and says why a command is needed without one', async () => {
    const dir = await tempDir();
    const failing = await run('db_migrate', { command: 'echo "relation exists" >&2; exit 4', workDir: dir });
    expect(failing.result.status).toBe('failed');
    expect(failing.result.error).toBe('migration exited with code 4; stderr:\nrelation exists');
    const none = await run('db_migrate', { migrationPath: '/srv/migrations', workDir: dir });
    expect(none.result).toMatchObject({ status: 'failed', error: "db_migrate on a host needs dbMigrate.command: without it a Kubernetes target runs the image's entrypoint, and a host has no image" });
  });
});
