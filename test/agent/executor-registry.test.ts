import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentExecutor } from '../../agent/src/executors/agent-executor.ts';
import { executorType, ExecutorRegistry } from '../../agent/src/executors/executor-registry.ts';
import { createGitPullExecutor } from '../../agent/src/executors/gitpull-executor.ts';
import { createHostTaskExecutors } from '../../agent/src/executors/host-task-executors.ts';
import { createScriptExecutor } from '../../agent/src/executors/script-executor.ts';
import { Type } from '../../operator/src/api/schema-helpers.ts';
import { hostContext, removeTempDirs, tempDir } from './host-fixtures.ts';

const registry = new ExecutorRegistry([createScriptExecutor(), createGitPullExecutor(), ...createHostTaskExecutors()]);

afterAll(removeTempDirs);

describe('executor registry', () => {
  it('holds the host executors by type, pipeline tasks apart from deployments', () => {
    expect(registry.types()).toEqual([
      'gitpull',
      'script',
      'task:backup',
      'task:cleanup',
      'task:db_migrate',
      'task:health_check',
      'task:script',
      'task:start_service',
      'task:stop_service',
    ]);
  });

  it('maps a task_assign kind and target type to the executor, and announces plain type names', () => {
    expect([executorType('deploy', 'script'), executorType('task', 'script'), executorType('task', 'backup'), executorType('deploy', 'gitpull')]).toEqual([
      'script',
      'task:script',
      'task:backup',
      'gitpull',
    ]);
    expect(registry.capabilities()).toEqual(['backup', 'cleanup', 'db_migrate', 'gitpull', 'health_check', 'script', 'start_service', 'stop_service']);
  });

  it.each([
    { type: 'script', config: { settings: { install: 'true', timeouts: { install: 0 } } }, issues: [{ path: 'settings.timeouts.install', message: 'Invalid value: 0: must be >= 1' }] },
    { type: 'script', config: { settings: { rollback: 'true' } }, issues: [{ path: 'settings', message: 'Invalid value: script settings need an install or an update script' }] },
    { type: 'script', config: { settings: { install: 'true', environment: { PORT: 8080 } } }, issues: [{ path: 'settings.environment.PORT', message: 'Invalid value: 8080: must be of type string' }] },
    { type: 'script', config: { settings: { install: 'true' }, extra: true }, issues: [{ path: 'extra', message: 'unknown field' }] },
    { type: 'script', config: {}, issues: [{ path: 'settings', message: 'Required value' }] },
    { type: 'script', config: { settings: { install: 'true' }, package: { url: 'https://a.example/x.tgz', sha256: 'nope' } }, issues: [{ path: 'package.sha256', message: expect.stringContaining('Invalid value: "nope"') }] },
    { type: 'gitpull', config: { repo: 'https://git.example/app.git', settings: {} }, issues: [{ path: 'settings.workDir', message: 'Required value' }] },
    { type: 'gitpull', config: { repo: '/srv/app.git', settings: { workDir: '/srv/app' }, host: { workDir: 'relative' } }, issues: [{ path: 'host.workDir', message: 'Invalid value: "relative": must be an absolute path' }] },
    { type: 'task:health_check', config: { type: 'http' }, issues: [{ path: 'url', message: 'Invalid value: url is required for an http health check' }] },
    { type: 'task:health_check', config: { type: 'grpc', url: 'http://x' }, issues: [{ path: 'type', message: 'Unsupported value: "grpc": supported values: "http", "tcp", "script"' }] },
    { type: 'task:backup', config: { retention: 0 }, issues: [{ path: 'retention', message: 'Invalid value: 0: must be >= 1' }] },
    { type: 'task:stop_service', config: { gracefulTimeoutSeconds: 5 }, issues: [{ path: '', message: 'Invalid value: stop_service needs a command or a pidFile' }] },
    { type: 'task:start_service', config: { readyTimeoutSeconds: 5 }, issues: [{ path: 'command', message: 'Required value' }] },
    { type: 'task:cleanup', config: { keepVersions: 'three' }, issues: [{ path: 'keepVersions', message: 'Invalid value: "three": must be an integer' }] },
    { type: 'task:script', config: { interpreter: '/bin/sh' }, issues: [{ path: 'script', message: 'Required value' }] },
  ])('refuses a $type config that does not fit, naming the field and the reason ($issues.0.path)', ({ type, config, issues }) => {
    const check = registry.validate(type, config);
    expect(check.ok).toBe(false);
    if (!check.ok) expect(check.issues).toEqual(issues);
  });

  it.each([
    { type: 'script', config: { settings: { install: 'true' } }, expected: { settings: { install: 'true', interpreter: '/bin/bash', keepData: true } } },
    {
      type: 'script',
      config: { settings: { update: 'true', timeouts: { update: 30 } } },
      expected: { settings: { update: 'true', interpreter: '/bin/bash', keepData: true, timeouts: { install: 600, update: 30, rollback: 180, uninstall: 120 } } },
    },
    { type: 'task:backup', config: {}, expected: { type: 'full', retention: 5, timeoutSeconds: 600 } },
    { type: 'task:health_check', config: { type: 'tcp', host: 'localhost', port: 80 }, expected: { type: 'tcp', host: 'localhost', port: 80, timeoutSeconds: 10, retry: 3, intervalSeconds: 10, successThreshold: 1 } },
  ])('fills in the defaults of a $type config', ({ type, config, expected }) => {
    const check = registry.validate(type, config);
    expect(check).toEqual({ ok: true, config: expected });
    expect(config).not.toEqual(expected);
  });

  it('does not run a task whose config is refused', async () => {
    const dir = await tempDir();
    const marker = join(dir, 'ran');
    const { context } = hostContext(dir, { env: { MARKER: marker } });
    const result = await registry.run('script', { settings: { install: 'touch "$MARKER"', timeouts: { install: 100000 } } }, context);
    expect(result).toMatchObject({ status: 'failed', installed: false });
    expect(result.error).toBe('script config refused: settings.timeouts.install: Invalid value: 100000: must be <= 86400');
    expect(existsSync(marker)).toBe(false);
  });

  it('runs a task whose config fits, with the defaults filled in', async () => {
    const dir = await tempDir();
    const { context, logs } = hostContext(dir);
    const result = await registry.run('script', { settings: { install: 'echo "interpreter $BASH"' } }, context);
    expect(result).toMatchObject({ status: 'succeeded', installed: true, version: '1.0.0' });
    expect(logs).toContain('interpreter /bin/bash');
  });

  it('answers a type it has no executor for with a failed result naming the types it has', async () => {
    const { context } = hostContext(await tempDir(), { operation: 'update', currentVersion: '1.0.0' });
    const result = await registry.run('docker', {}, context);
    expect(result).toMatchObject({ status: 'failed', installed: true, version: '1.0.0' });
    expect(result.error).toContain('no executor for "docker"');
    expect(result.error).toContain('gitpull, script');
  });

  it('turns an executor that throws into a failed result', async () => {
    const exploding: AgentExecutor = {
      type: 'exploding',
      configSchema: Type.Object({}),
      run: async () => {
        throw new Error('disk on fire');
      },
    };
    const own = new ExecutorRegistry([exploding]);
    const { context } = hostContext(await tempDir());
    expect(await own.run('exploding', {}, context)).toMatchObject({ status: 'failed', error: 'exploding failed: disk on fire' });
  });

  it('refuses a second executor for the same type', () => {
    expect(() => registry.register(createScriptExecutor())).toThrow('an executor for script is already registered');
  });
});
