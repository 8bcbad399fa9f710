/**
 * The agent hub and the agent against each other over real QUIC on 127.0.0.1, agents in this process (the
 * cases that kill or cut an agent are in agent-process.test.ts and agent-network.test.ts). The database is
 * PGlite; credentials are checked by the product's AgentCredentials.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHub } from '../../operator/src/agents/agent-hub.ts';
import type { LogMessage, ProgressMessage, StatusReportMessage } from '../../operator/src/protocol/messages.ts';
import { eventually, until } from '../support/until.ts';
import { journalFiles, makeCertificates, markerTask, Operatorside, removeTempDirs, runsOf, startAgent, tempDir, type Certificates, type InProcessAgent } from './agent-fixtures.ts';

describe('agent hub with agents over QUIC', () => {
  let certs: Certificates;
  let side: Operatorside;
  let hub: AgentHub;
  let markers: string;
  const agents: InProcessAgent[] = [];

  const agent = async (agentId: string, options: { token?: string; stateDir?: string } = {}) => {
    const token = options.token ?? side.tokens.get(agentId) ?? (await side.register(agentId));
    const started = await startAgent({ port: hub.port, agentId, caPem: certs.caPem, token, ...(options.stateDir ? { stateDir: options.stateDir } : {}) });
    agents.push(started);
    return started;
  };

  beforeAll(async () => {
    certs = await makeCertificates();
    side = await Operatorside.open(certs.caPem);
    hub = await side.startHub(certs, { mask: (text) => text.replaceAll('hunter2-printed-secret', '******') });
    markers = await tempDir('shipway-markers-');
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.agent.stop(0)));
  });

  afterAll(async () => {
    await hub?.stop();
    await side?.dispose();
    await removeTempDirs();
  });

  it('runs a dispatched task and returns its result, with progress, logs and status reports on the way', async () => {
    const { stateDir } = await agent('edge-run');
    await until(() => hub.isConnected('edge-run'), 10_000);
    const progress: ProgressMessage[] = [];
    const logs: LogMessage[] = [];
    const statuses: StatusReportMessage[] = [];
    const task = markerTask({ markerDir: markers, sleepMs: 300, lines: 5 });
    const result = await hub.dispatch('edge-run', task, { onProgress: (m) => progress.push(m), onLog: (m) => logs.push(m), onStatus: (m) => statuses.push(m) }, AbortSignal.timeout(20_000));
    expect(result).toMatchObject({ type: 'result', taskId: task.taskId, status: 'succeeded', version: '1.4.3', previousVersion: '1.4.2', installed: true });
    expect(progress.map((p) => p.percent)).toContain(0);
    expect(logs.flatMap((m) => m.lines)).toEqual(expect.arrayContaining(['line 0 of web 1.4.3', 'line 4 of web 1.4.3']));
    expect(logs.map((m) => m.seq)).toEqual(logs.map((_, i) => i));
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
    // The result is journaled before it is sent, and acknowledged once the hub has it.
    await eventually(async () => (await readFile(join(stateDir, 'installed-apps.json'), 'utf8')).includes('"1.4.3"'));
    await eventually(async () => (await side.repo.listReportsOfTarget('edge')).some((r) => r.taskId === task.taskId && r.status === 'success'));
    const reports = await side.repo.listReportsOfTarget('edge');
    expect(reports.find((r) => r.taskId === task.taskId && r.status === 'success')).toMatchObject({ agentId: 'edge-run', releaseId: task.releaseRef.uid, phase: 'update' });
  });

  it('records heartbeats in the database, and connects and disconnects in isConnected and onAgentChange', async () => {
    const { agent: running } = await agent('edge-beat');
    await until(() => hub.isConnected('edge-beat'), 10_000);
    const first = await side.repo.getAgent('edge-beat');
    expect(first).toMatchObject({ status: 'online', version: '0.1.0' });
    await eventually(async () => (await side.repo.getAgent('edge-beat'))!.lastSeenAt! > first!.lastSeenAt!, { timeoutMs: 5000 });
    expect(side.changes).toContain('edge-beat');
    const changesBefore = side.changes.filter((id) => id === 'edge-beat').length;
    await running.stop(0);
    await until(() => !hub.isConnected('edge-beat'), 5000);
    await eventually(async () => (await side.repo.getAgent('edge-beat'))!.status === 'offline');
    expect(side.changes.filter((id) => id === 'edge-beat').length).toBeGreaterThan(changesBefore);
    expect(hub.connectedAgent('edge-beat')).toBeUndefined();
  });

  it('refuses an agent with a wrong credential, and one whose credential was revoked, saying why', async () => {
    await side.register('edge-wrong');
    const wrong = await agent('edge-wrong', { token: 'swa_not-the-token' });
    await until(() => wrong.logs.some((line) => line.includes('refused this agent: unknown agent or wrong credential')), 10_000);
    expect(hub.isConnected('edge-wrong')).toBe(false);

    const revoked = await agent('edge-revoked');
    await until(() => hub.isConnected('edge-revoked'), 10_000);
    await side.repo.revokeAgent('edge-revoked');
    // The next hello (after this session ends) is refused.
    await revoked.agent.stop(0);
    const again = await agent('edge-revoked');
    await until(() => again.logs.some((line) => line.includes('refused this agent: the credential of this agent has been revoked')), 10_000);
    expect(hub.isConnected('edge-revoked')).toBe(false);
    expect(side.logs.filter((line) => line.includes('refused')).join('\n')).not.toContain(side.tokens.get('edge-revoked'));
  });

  it('answers a second dispatch of a task that already ran with its journaled result, without running it again', async () => {
    await agent('edge-dup');
    await until(() => hub.isConnected('edge-dup'), 10_000);
    const task = markerTask({ markerDir: markers, sleepMs: 50 });
    const first = await hub.dispatch('edge-dup', task, {}, AbortSignal.timeout(20_000));
    const second = await hub.dispatch('edge-dup', task, {}, AbortSignal.timeout(20_000));
    expect(second).toEqual(first);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
  });

  it('waits while the agent is offline and runs the task once it connects', async () => {
    const token = await side.register('edge-late');
    const task = markerTask({ markerDir: markers, sleepMs: 50 });
    const pending = hub.dispatch('edge-late', task, {}, AbortSignal.timeout(20_000));
    await new Promise((r) => setTimeout(r, 300));
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 0, finished: 0 });
    await agent('edge-late', { token });
    await expect(pending).resolves.toMatchObject({ status: 'succeeded' });
  });

  it('stops waiting for an offline agent when the dispatch is aborted', async () => {
    const controller = new AbortController();
    const pending = hub.dispatch('edge-nobody', markerTask({ markerDir: markers, sleepMs: 0 }), {}, controller.signal);
    setTimeout(() => controller.abort(new Error('release cancelled')), 100);
    await expect(pending).rejects.toThrow('release cancelled');
  });

  it('cancels a running task on request, and refuses pause with the reason', async () => {
    await agent('edge-cancel');
    await until(() => hub.isConnected('edge-cancel'), 10_000);
    const task = markerTask({ markerDir: markers, sleepMs: 20_000 });
    const pending = hub.dispatch('edge-cancel', task, {}, AbortSignal.timeout(30_000));
    await eventually(async () => (await runsOf(markers, task.taskId)).started === 1, { intervalMs: 20 });
    const pause = await hub.control('edge-cancel', 'pause', task.taskId);
    expect(pause).toMatchObject({ type: 'control_ack', command: 'pause', taskId: task.taskId, accepted: false });
    expect(pause.reason).toContain('cannot be paused');
    const started = Date.now();
    await expect(hub.control('edge-cancel', 'cancel', task.taskId)).resolves.toMatchObject({ command: 'cancel', accepted: true });
    await expect(pending).resolves.toMatchObject({ status: 'cancelled', installed: true });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
    await expect(hub.control('edge-cancel', 'cancel', task.taskId)).resolves.toMatchObject({ accepted: false, reason: expect.stringContaining('already finished (cancelled)') });
  });

  it('fails a task that outlives its timeout, stopping its executor', async () => {
    await agent('edge-slow');
    await until(() => hub.isConnected('edge-slow'), 10_000);
    const task = markerTask({ markerDir: markers, sleepMs: 30_000 }, { timeoutSeconds: 1 });
    const started = Date.now();
    const result = await hub.dispatch('edge-slow', task, {}, AbortSignal.timeout(20_000));
    expect(result).toMatchObject({ status: 'failed', error: 'timed out after 1 s: stopped on request' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
  });

  it('bounds a chatty task: lines past the queue are dropped and counted, the rest arrive in batches', async () => {
    await agent('edge-chatty');
    await until(() => hub.isConnected('edge-chatty'), 10_000);
    const batches: LogMessage[] = [];
    const result = await hub.dispatch('edge-chatty', markerTask({ markerDir: markers, sleepMs: 0, lines: 20_000 }), { onLog: (m) => batches.push(m) }, AbortSignal.timeout(20_000));
    expect(result.status).toBe('succeeded');
    const received = batches.reduce((n, m) => n + m.lines.length, 0);
    const dropped = batches.reduce((n, m) => n + (m.dropped ?? 0), 0);
    expect(received + dropped).toBe(20_000);
    expect(received).toBeLessThanOrEqual(5000);
    expect(Math.max(...batches.map((m) => m.lines.length))).toBeLessThanOrEqual(500);
    expect(batches.map((m) => m.seq)).toEqual(batches.map((_, i) => i));
  });

  it('across an operator restart, takes the result the agent re-delivers for a task the new operator asks for again', async () => {
    const first = await side.startHub(certs);
    const port = first.port;
    const token = await side.register('edge-restart');
    const running = await startAgent({ port, agentId: 'edge-restart', caPem: certs.caPem, token, reconnect: { initialMs: 100, maxMs: 300 } });
    agents.push(running);
    await until(() => first.isConnected('edge-restart'), 10_000);
    const task = markerTask({ markerDir: markers, sleepMs: 1000 });
    const lost = first.dispatch('edge-restart', task, {}, AbortSignal.timeout(20_000)).then(() => 'resolved', (error: Error) => error.message);
    await eventually(async () => (await runsOf(markers, task.taskId)).started === 1, { intervalMs: 20 });
    await first.stop();
    expect(await lost).toBe('the agent hub is stopped');
    await until(() => running.logs.some((line) => line.startsWith(`task ${task.taskId}: succeeded`)), 5000);
    const second = await side.startHub(certs, { port });
    try {
      await until(() => running.logs.includes(`task ${task.taskId}: result delivered after a reconnect`), 10_000);
      await expect(second.dispatch('edge-restart', task, {}, AbortSignal.timeout(5000))).resolves.toMatchObject({ taskId: task.taskId, status: 'succeeded' });
      expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
    } finally {
      await running.agent.stop(0);
      await second.stop();
    }
  });

  it('keeps one session per agent id: a new one replaces the old', async () => {
    const first = await agent('edge-twice');
    await until(() => hub.isConnected('edge-twice'), 10_000);
    const sessionBefore = hub.connectedAgent('edge-twice')!.sessionId;
    await agent('edge-twice', { stateDir: await tempDir() });
    await until(() => side.logs.some((line) => line.includes('agent edge-twice: a new session')), 10_000);
    await until(() => first.logs.includes('disconnected from the operator'), 10_000);
    expect(hub.isConnected('edge-twice')).toBe(true);
    expect(hub.connectedAgent('edge-twice')!.sessionId).not.toBe(sessionBefore);
  });

  it('reports installed apps on hello with the executor type, stored under the agent pseudo-target of that type', async () => {
    const stateDir = await tempDir();
    const first = await agent('edge-apps', { stateDir });
    await until(() => hub.isConnected('edge-apps'), 10_000);
    await hub.dispatch('edge-apps', markerTask({ markerDir: markers, sleepMs: 0 }, { app: 'shop-api', version: '2.0.0', operation: 'install', currentVersion: undefined }), {}, AbortSignal.timeout(20_000));
    await first.agent.stop(0);
    agents.splice(agents.indexOf(first), 1);
    await until(() => !hub.isConnected('edge-apps'), 5000);
    await agent('edge-apps', { stateDir });
    await until(() => hub.isConnected('edge-apps'), 10_000);
    expect(hub.connectedAgent('edge-apps')!.installed).toEqual([{ app: 'shop-api', targetType: 'marker', version: '2.0.0', state: 'installed' }]);
    await eventually(async () => (await side.repo.getTargetInstallation('agent:edge-apps/marker', 'shop-api'))?.version === '2.0.0');
    expect(await side.repo.getTargetInstallation('agent:edge-apps/marker', 'shop-api')).toMatchObject({ state: 'installed' });
  });

  it('never lets a secret from env into logs, status reports, results or the journal', async () => {
    const { logs: agentLogs, stateDir } = await agent('edge-secret');
    await until(() => hub.isConnected('edge-secret'), 10_000);
    const lines: string[] = [];
    const env = { APP_NAME: 'web', DB_PASSWORD: 'hunter2-printed-secret', API_TOKEN: 'never-printed-token-9f8e7d' };
    const task = markerTask({ markerDir: markers, sleepMs: 50, echoEnv: ['DB_PASSWORD'], fail: true }, { env, secretEnv: ['DB_PASSWORD', 'API_TOKEN'] });
    const result = await hub.dispatch('edge-secret', task, { onLog: (m) => lines.push(...m.lines) }, AbortSignal.timeout(20_000));
    expect(result.status).toBe('failed');
    expect(lines).toContain('DB_PASSWORD=******');
    expect(result.error).toContain('DB_PASSWORD=******');
    expect(result.outputTail).toBe('DB_PASSWORD=******');
    await eventually(async () => (await side.repo.listReportsOfTarget('edge')).some((r) => r.taskId === task.taskId && r.status === 'failed'));
    const reports = (await side.repo.listReportsOfTarget('edge')).filter((r) => r.taskId === task.taskId);
    const everything = [JSON.stringify(result), lines.join('\n'), side.logs.join('\n'), agentLogs.join('\n'), JSON.stringify(reports)].join('\n');
    expect(everything).not.toContain('hunter2-printed-secret');
    expect(everything).not.toContain('never-printed-token-9f8e7d');
    // The agent's journal keeps no env at all, and the result it journals was masked by the agent: the
    // operator named DB_PASSWORD and API_TOKEN secret (secretEnv).
    const journal = await journalFiles(stateDir);
    expect(journal.join('\n')).not.toContain('never-printed-token-9f8e7d');
    expect(journal.join('\n')).not.toContain('hunter2-printed-secret');
    expect(journal.join('\n')).toContain('DB_PASSWORD=******');
    expect(journal.join('\n')).not.toContain('"env"');
  });
});
