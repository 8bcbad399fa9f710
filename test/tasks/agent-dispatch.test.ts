/**
 * What the operator sends an agent for each task of an agent target: the operation (install where the history
 * has nothing, update where the app is installed), the version, the config for the target's executor, the
 * variables and the timeout. The dispatcher here records the assignments and answers them; the real hub and
 * agents are covered by test/agents and test/engine/agent-targets.
 */
import { describe, expect, it } from 'vitest';
import type { Task } from '../../operator/src/api/pipeline.ts';
import type { TaskAssignMessage } from '../../operator/src/protocol/messages.ts';
import { createAgentTaskRegistry, type AgentDispatcher } from '../../operator/src/tasks/agent-dispatch.ts';
import type { AgentApp, TargetRef, TaskContext } from '../../operator/src/tasks/task-executor.ts';
import { WorkCancelled } from '../../operator/src/tasks/work-cancelled.ts';
import { taskContext } from './task-context.ts';

type Assignment = Omit<TaskAssignMessage, 'v' | 'type'>;

function recordingDispatcher(status: 'succeeded' | 'failed' = 'succeeded'): { dispatcher: AgentDispatcher; sent: Assignment[] } {
  const sent: Assignment[] = [];
  return {
    sent,
    dispatcher: {
      async dispatch(_agent, task) {
        sent.push(task);
        return { v: 1, type: 'result', taskId: task.taskId, status, ...(status === 'failed' ? { error: 'exit code 3' } : {}) } as never;
      },
    },
  };
}

const scriptTarget: TargetRef = {
  namespace: 'shop', name: 'host-1', labels: {},
  spec: { type: 'script', environment: 'prod', priority: 0, host: '10.0.0.5', agent: 'agent-1', script: { workDir: '/srv' } } as TargetRef['spec'],
};

const shopApp: AgentApp = {
  app: 'shop', version: '1.1.0',
  artifact: { package: { url: 'https://dl.example/shop-${APP_VERSION}.tgz', sha256: 'a'.repeat(64) } },
  script: { interpreter: '/bin/bash', update: 'echo update', install: 'echo install', keepData: true },
};

const task = (type: Task['type'], extra: Partial<Task> = {}): Task => ({ id: type, type, onError: 'fail', ...extra } as Task);

function context(t: Task, overrides: Partial<TaskContext> = {}): TaskContext {
  return taskContext(t, { target: scriptTarget, environment: 'prod', apps: [shopApp], ...overrides });
}

describe('agent task dispatch', () => {
  it.each<[string, TaskContext['installations'], Assignment['operation']]>([
    ['nothing installed: install', undefined, 'install'],
    ['installed: update', { shop: { state: 'installed', version: '1.0.0' } }, 'update'],
    ['uninstalled before: install again', { shop: { state: 'uninstalled', version: '1.0.0' } }, 'install'],
  ])('deploy — %s', async (_, installations, operation) => {
    const { dispatcher, sent } = recordingDispatcher();
    const registry = createAgentTaskRegistry(new Map(), dispatcher);
    const outcome = await registry.get('deploy')!.run(context(task('deploy'), { ...(installations ? { installations } : {}) }));
    expect(outcome).toEqual({ status: 'succeeded' });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ kind: 'deploy', operation, app: 'shop', version: '1.1.0', targetType: 'script', timeoutSeconds: operation === 'install' ? 600 : 300 });
    expect(sent[0]!.config).toEqual({ settings: shopApp.script, package: shopApp.artifact!.package, host: { workDir: '/srv' } });
    expect(sent[0]!.env).toMatchObject({ APP_NAME: 'shop', APP_VERSION: '1.1.0' });
    // The context's masker hides API_TOKEN: the agent is told it is secret, so it masks it in what it keeps.
    expect(sent[0]!.secretEnv).toEqual(['API_TOKEN']);
  });

  it.each<[string, WorkCancelled, string[]]>([
    ['a cancelled release cancels the task on the agent', new WorkCancelled('cancel'), ['agent-1 shop-run/shop']],
    ['a stopping operator leaves it running (the next leader collects its result)', new WorkCancelled('stop'), []],
  ])('abort while the agent works — %s', async (_, reason, expected) => {
    const cancels: string[] = [];
    const abort = new AbortController();
    let sent!: () => void;
    const working = new Promise<void>((resolve) => (sent = resolve));
    const dispatcher: AgentDispatcher = {
      dispatch: (_agent, _task, _handlers, signal) => new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        sent();
      }),
      cancel: async (agentId, taskId) => void cancels.push(`${agentId} ${taskId}`),
    };
    const registry = createAgentTaskRegistry(new Map(), dispatcher);
    const running = registry.get('deploy')!.run(context(task('deploy'), { runKey: 'shop-run', signal: abort.signal }));
    await working;
    abort.abort(reason);
    await expect(running).rejects.toBe(reason);
    expect(cancels).toEqual(expected);
  });

  it('rollback to an older version sends that version, and the package without the checksum of the new one', async () => {
    const { dispatcher, sent } = recordingDispatcher();
    const registry = createAgentTaskRegistry(new Map(), dispatcher);
    const outcome = await registry.get('rollback')!.run(context(task('rollback', { rollback: { targetVersion: '0.9.0', skipChecks: false } }), {
      installations: { shop: { state: 'installed', version: '1.1.0', previousVersion: '1.0.0' } },
    }));
    expect(outcome).toEqual({ status: 'succeeded' });
    expect(sent[0]).toMatchObject({ operation: 'rollback', version: '0.9.0', currentVersion: '1.1.0', timeoutSeconds: 180, env: expect.objectContaining({ APP_VERSION: '0.9.0', CURRENT_VERSION: '1.1.0' }) });
    expect(sent[0]!.config.package).toEqual({ url: 'https://dl.example/shop-${APP_VERSION}.tgz' });
  });

  it('rollback without a version goes to the previous one the history knows, and fails clearly when there is none', async () => {
    const { dispatcher, sent } = recordingDispatcher();
    const registry = createAgentTaskRegistry(new Map(), dispatcher);
    await registry.get('rollback')!.run(context(task('rollback'), { installations: { shop: { state: 'installed', version: '1.1.0', previousVersion: '1.0.0' } } }));
    expect(sent[0]).toMatchObject({ version: '1.0.0' });
    const none = await registry.get('rollback')!.run(context(task('rollback'), { installations: { shop: { state: 'installed', version: '1.1.0' } } }));
    expect(none).toMatchObject({ status: 'failed', error: 'no earlier version of shop is known on host-1 to roll back to' });
    expect(sent).toHaveLength(1);
  });

  it('a failed result fails the task with the operation, app and target in the error', async () => {
    const { dispatcher } = recordingDispatcher('failed');
    const registry = createAgentTaskRegistry(new Map(), dispatcher);
    const outcome = await registry.get('deploy')!.run(context(task('deploy')));
    expect(outcome).toMatchObject({ status: 'failed', error: 'install of shop 1.1.0 on host-1: exit code 3', retryable: false });
  });

  it("a docker target's tlsSecretRef reaches the agent as the engine's PEMs, and without a way to read them the task fails saying so", async () => {
    const dockerTarget: TargetRef = {
      namespace: 'shop', name: 'edge-1', labels: {},
      spec: { type: 'docker', environment: 'prod', priority: 0, agent: 'agent-1', docker: { host: 'tcp://10.0.0.5:2376', tlsSecretRef: 'edge-1-docker-tls' } } as TargetRef['spec'],
    };
    const webApp: AgentApp = { app: 'web', version: '2.0.0', artifact: { image: 'registry.local/web' } };
    const { dispatcher, sent } = recordingDispatcher();
    const asked: string[] = [];
    const withTls: AgentDispatcher = { ...dispatcher, dockerTls: async (namespace, name) => (asked.push(`${namespace}/${name}`), { ca: 'CA', cert: 'CERT', key: 'KEY' }) };
    const outcome = await createAgentTaskRegistry(new Map(), withTls).get('deploy')!.run(context(task('deploy'), { target: dockerTarget, apps: [webApp] }));
    expect(outcome).toEqual({ status: 'succeeded' });
    expect(asked).toEqual(['shop/edge-1-docker-tls']);
    expect(sent[0]!.config).toEqual({ image: 'registry.local/web', engine: { host: 'tcp://10.0.0.5:2376', tls: { ca: 'CA', cert: 'CERT', key: 'KEY' } } });

    const without = await createAgentTaskRegistry(new Map(), dispatcher).get('deploy')!.run(context(task('deploy'), { target: dockerTarget, apps: [webApp] }));
    expect(without).toMatchObject({ status: 'failed', error: 'docker target edge-1 names tlsSecretRef edge-1-docker-tls, and this operator cannot read Secrets for agents' });
  });

  it('a host task goes with its block and the host defaults, under the run key as task id', async () => {
    const { dispatcher, sent } = recordingDispatcher();
    const registry = createAgentTaskRegistry(new Map(), dispatcher);
    const backup = task('backup', { backup: { type: 'full', retention: 3 } });
    await registry.get('backup')!.run(context(backup));
    expect(sent[0]).toMatchObject({ taskId: 'shop/shop-1-1-0/pre/web-pre/backup', kind: 'task', targetType: 'backup', config: { type: 'full', retention: 3, host: { workDir: '/srv' } } });
  });
});
