/** One valid message of every type, with every optional field, and a minimal variant where fields are optional. */
import type { MessageOf, MessageType, ProtocolMessage } from '../../operator/src/protocol/messages.ts';

const hello: MessageOf<'hello'> = {
  v: 1,
  type: 'hello',
  id: 'm-1',
  agentId: 'edge-01',
  credential: 'swa_edge-01_4f1c0e9a7b',
  agentVersion: '0.1.0',
  protocolVersion: '1.0',
  hostname: 'edge-01.example.internal',
  capabilities: ['docker', 'script', 'gitpull', 'health_check'],
  installed: [
    { app: 'web', version: '1.4.2', state: 'installed' },
    { app: 'worker', state: 'uninstalled' },
  ],
  runningTasks: ['task-7'],
  unacknowledgedResults: ['task-5', 'task-6'],
};

const assign: MessageOf<'task_assign'> = {
  v: 1,
  type: 'task_assign',
  id: 'm-2',
  taskId: 'shop/rel-42/prod/web/edge-01/1',
  kind: 'deploy',
  operation: 'update',
  targetType: 'script',
  app: 'web',
  version: '1.4.3',
  currentVersion: '1.4.2',
  config: { updateScript: 'systemctl restart web', interpreter: '/bin/bash', timeouts: { update: 300 } },
  env: { APP_NAME: 'web', APP_VERSION: '1.4.3', CURRENT_VERSION: '1.4.2', DB_PASSWORD: 's3cret' },
  timeoutSeconds: 300,
  releaseRef: { namespace: 'shop', name: 'rel-42', uid: '0f8c2d8e-5b7a-4f2e-9d43-0c6c1b8f1a11' },
  environment: 'prod',
  target: 'edge-01',
};

export const SAMPLES: Record<MessageType, ProtocolMessage[]> = {
  hello: [hello, { ...hello, id: undefined, capabilities: [], installed: [], runningTasks: [], unacknowledgedResults: [] }],
  welcome: [
    { v: 1, type: 'welcome', id: 'm-1', accepted: true, sessionId: 'sess-9', heartbeatSeconds: 15, serverVersion: '0.1.0', protocolVersion: '1.0' },
    { v: 1, type: 'welcome', accepted: false, reason: 'credential revoked', serverVersion: '0.1.0', protocolVersion: '1.0' },
  ],
  heartbeat: [{ v: 1, type: 'heartbeat', id: 'hb-3', runningTasks: ['task-7'], load: { loadAverage1m: 0.42, cpus: 8, memoryUsedPercent: 37.5 } }],
  heartbeat_ack: [{ v: 1, type: 'heartbeat_ack', id: 'hb-3' }],
  task_assign: [assign, { ...assign, kind: 'task', targetType: 'health_check', currentVersion: undefined, config: {}, env: {} }],
  task_ack: [
    { v: 1, type: 'task_ack', taskId: 'task-7', status: 'accepted' },
    { v: 1, type: 'task_ack', taskId: 'task-5', status: 'duplicate', result: { status: 'succeeded', version: '1.4.3', previousVersion: '1.4.2', installed: true, durationMs: 5120 } },
    { v: 1, type: 'task_ack', taskId: 'task-8', status: 'refused', reason: 'no executor for targetType "nomad"' },
  ],
  progress: [
    { v: 1, type: 'progress', taskId: 'task-7', percent: 40, phase: 'pull', message: 'pulling registry.local:5000/web:1.4.3' },
    { v: 1, type: 'progress', taskId: 'task-7', percent: 0, phase: 'start' },
  ],
  log: [
    { v: 1, type: 'log', taskId: 'task-7', seq: 0, lines: ['+ systemctl restart web', 'done'] },
    { v: 1, type: 'log', taskId: 'task-7', seq: 12, lines: ['…'], dropped: 340 },
  ],
  result: [
    { v: 1, type: 'result', taskId: 'task-7', status: 'succeeded', version: '1.4.3', previousVersion: '1.4.2', outputTail: 'done\n', installed: true, durationMs: 5120 },
    { v: 1, type: 'result', taskId: 'task-9', status: 'failed', error: 'update_script exited with code 3', installed: true, durationMs: 80 },
    { v: 1, type: 'result', taskId: 'task-10', status: 'cancelled', installed: false, durationMs: 0 },
  ],
  result_ack: [{ v: 1, type: 'result_ack', taskId: 'task-7' }],
  status_report: [
    {
      v: 1,
      type: 'status_report',
      releaseId: 'rel-42',
      targetId: 'edge-01',
      phase: 'release',
      taskId: 'task-7',
      taskName: 'deploy web',
      status: 'running',
      progress: 40,
      message: 'restarting',
      metrics: { cpuPercent: 12.5, memoryBytes: 73400320 },
      timestamp: '2026-01-31T10:00:00Z',
    },
    { v: 1, type: 'status_report', releaseId: 'rel-42', targetId: 'edge-01', phase: 'post_release', taskId: 'task-11', status: 'success', progress: 100 },
  ],
  control: [
    { v: 1, type: 'control', id: 'c-1', command: 'cancel', taskId: 'task-7', reason: 'release cancelled by alice' },
    { v: 1, type: 'control', id: 'c-2', command: 'pause' },
  ],
  control_ack: [
    { v: 1, type: 'control_ack', id: 'c-1', command: 'cancel', taskId: 'task-7', accepted: true },
    { v: 1, type: 'control_ack', id: 'c-3', command: 'resume', accepted: false, reason: 'nothing is paused' },
  ],
  error: [{ v: 1, type: 'error', id: 'm-9', code: 'invalid_message', message: 'task_assign: env.bad-key: Invalid value' }],
};

/** The samples without the `undefined` placeholders the spreads above leave behind: what JSON would carry. */
export const ALL_SAMPLES: ProtocolMessage[] = Object.values(SAMPLES).flat().map((m) => JSON.parse(JSON.stringify(m)) as ProtocolMessage);
