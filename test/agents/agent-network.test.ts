/**
 * The network between agent and operator cut mid-task and restored, with a UDP relay on 127.0.0.1 that drops
 * every datagram while paused. QUIC idle timeouts are shortened (1.5 s) so the cut is noticed by both sides
 * and the agent really reconnects on a new connection; the task keeps running on the agent meanwhile.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHub } from '../../operator/src/agents/agent-hub.ts';
import type { LogMessage } from '../../operator/src/protocol/messages.ts';
import { eventually, until } from '../support/until.ts';
import { FAST_QUIC, journalFiles, makeCertificates, markerTask, Operatorside, removeTempDirs, runsOf, startAgent, tempDir, UdpRelay, type Certificates, type InProcessAgent } from './agent-fixtures.ts';

describe('agent and operator across a network cut', () => {
  let certs: Certificates;
  let side: Operatorside;
  let hub: AgentHub;
  let relay: UdpRelay;
  let markers: string;
  const agents: InProcessAgent[] = [];

  beforeAll(async () => {
    certs = await makeCertificates();
    side = await Operatorside.open(certs.caPem);
    hub = await side.startHub(certs, { quic: FAST_QUIC });
    relay = await UdpRelay.start(hub.port);
    markers = await tempDir('shipway-markers-');
  });

  afterEach(async () => {
    relay.resume();
    await Promise.all(agents.splice(0).map((a) => a.agent.stop(0)));
  });

  afterAll(async () => {
    await relay?.stop();
    await hub?.stop();
    await side?.dispose();
    await removeTempDirs();
  });

  const connectThroughRelay = async (agentId: string) => {
    const token = await side.register(agentId);
    const started = await startAgent({ port: relay.port, agentId, caPem: certs.caPem, token, quic: FAST_QUIC, reconnect: { initialMs: 200, maxMs: 800 } });
    agents.push(started);
    await until(() => hub.isConnected(agentId), 10_000);
    return started;
  };

  it('delivers the result once when the task finishes while the network is down', async () => {
    const { logs } = await connectThroughRelay('edge-cut');
    const sessionBefore = hub.connectedAgent('edge-cut')!.sessionId;
    const task = markerTask({ markerDir: markers, sleepMs: 2500, lines: 2 });
    const lines: LogMessage[] = [];
    const pending = hub.dispatch('edge-cut', task, { onLog: (m) => lines.push(m) }, AbortSignal.timeout(30_000));
    await eventually(async () => (await runsOf(markers, task.taskId)).started === 1, { intervalMs: 20 });
    relay.pause();
    await until(() => !hub.isConnected('edge-cut'), 6000);
    // The task ends while the link is down: its result can only be journaled.
    await eventually(async () => (await runsOf(markers, task.taskId)).finished === 1, { intervalMs: 50 });
    await until(() => logs.some((line) => line.startsWith(`task ${task.taskId}: succeeded`)), 5000);
    relay.resume();
    const result = await pending;
    expect(result).toMatchObject({ taskId: task.taskId, status: 'succeeded', version: '1.4.3' });
    expect(hub.connectedAgent('edge-cut')!.sessionId).not.toBe(sessionBefore);
    expect(relay.dropped).toBeGreaterThan(0);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
    // Once acknowledged it is not offered again: a second dispatch gets the journaled copy, nothing runs.
    await eventually(async () => (await journalFiles(agents[0]!.stateDir)).every((entry) => entry.includes('acknowledgedAt')));
    await expect(hub.dispatch('edge-cut', task, {}, AbortSignal.timeout(10_000))).resolves.toEqual(result);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
  }, 40_000);

  it('carries on with the running task on the new connection when the network comes back before it ends', async () => {
    const { logs } = await connectThroughRelay('edge-blip');
    const task = markerTask({ markerDir: markers, sleepMs: 5000, lines: 1 });
    const progress: number[] = [];
    const pending = hub.dispatch('edge-blip', task, { onProgress: (m) => progress.push(m.percent) }, AbortSignal.timeout(30_000));
    await eventually(async () => (await runsOf(markers, task.taskId)).started === 1, { intervalMs: 20 });
    relay.pause();
    await until(() => !hub.isConnected('edge-blip'), 6000);
    relay.resume();
    await until(() => hub.isConnected('edge-blip'), 10_000);
    expect((await runsOf(markers, task.taskId)).finished).toBe(0);
    const result = await pending;
    expect(result.status).toBe('succeeded');
    // The progress of the end of the run came on the stream of the new connection.
    expect(progress).toContain(100);
    expect(logs.some((line) => line.includes('sent again by the operator while running; continuing on the new stream'))).toBe(true);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
  }, 40_000);
});
