/**
 * The agent as a real child process (`shipway-agent`'s command line with the marker executor; the last case
 * runs bin/shipway-agent.js itself with the real executors), killed with SIGKILL mid-task and restarted on the
 * same state directory, and stopped with SIGTERM. The operator side is an agent hub in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AgentHub } from '../../operator/src/agents/agent-hub.ts';
import { eventually, until } from '../support/until.ts';
import { FAST_QUIC, journalFiles, makeCertificates, markerTask, Operatorside, removeTempDirs, runsOf, tempDir, UdpRelay, type Certificates } from './agent-fixtures.ts';

const ENTRY = join(import.meta.dirname, 'agent-process-entry.ts');
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'shipway-agent.js');

/** A `shipway-agent` child process and what it printed. */
class AgentProcess {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(private readonly child: ChildProcess) {
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        this.output.push(...lines);
      });
    }
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  static start(args: string[], script = ENTRY): AgentProcess {
    const child = spawn(process.execPath, script === ENTRY ? ['--import', 'tsx', script, ...args] : [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    return new AgentProcess(child);
  }

  async waitFor(text: string, timeoutMs = 20_000): Promise<void> {
    await until(() => this.output.some((line) => line.includes(text)), timeoutMs).catch(() => {
      throw new Error(`the agent did not print ${JSON.stringify(text)} in ${timeoutMs} ms; it printed:\n${this.output.join('\n')}`);
    });
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

const running = new Set<ChildProcess>();

describe('the agent as a process', () => {
  let certs: Certificates;
  let side: Operatorside;
  let hub: AgentHub;
  let relay: UdpRelay;
  let markers: string;
  let caFile: string;

  beforeAll(async () => {
    certs = await makeCertificates();
    side = await Operatorside.open(certs.caPem);
    hub = await side.startHub(certs, { quic: FAST_QUIC });
    relay = await UdpRelay.start(hub.port);
    markers = await tempDir('shipway-markers-');
    caFile = join(await tempDir(), 'ca.crt');
    await writeFile(caFile, certs.caPem);
  });

  afterEach(async () => {
    relay.resume();
    // Only the children these tests started, by their own handles.
    for (const child of running) child.kill('SIGKILL');
    running.clear();
  });

  afterAll(async () => {
    await relay?.stop();
    await hub?.stop();
    await side?.dispose();
    await removeTempDirs();
  });

  /** A config file for one agent, as an operator would write it (the token in a file of its own). */
  const configFor = async (agentId: string, options: { port?: number; grace?: number } = {}) => {
    const dir = await tempDir('shipway-agent-config-');
    const token = await side.register(agentId);
    await writeFile(join(dir, 'token'), `${token}\n`);
    const config = {
      server: `127.0.0.1:${options.port ?? hub.port}`,
      'agent-id': agentId,
      'credential-file': 'token',
      'ca-file': caFile,
      'server-name': 'localhost',
      'state-dir': 'state',
      'shutdown-grace': options.grace ?? 10,
      quic: FAST_QUIC,
    };
    await writeFile(join(dir, 'agent.json'), JSON.stringify(config));
    return { config: join(dir, 'agent.json'), stateDir: join(dir, 'state') };
  };

  it('killed with SIGKILL mid-task and restarted: the task is not run again and its result arrives once', async () => {
    const { config } = await configFor('edge-kill');
    const first = AgentProcess.start(['--config', config]);
    await first.waitFor('connected to');
    const task = markerTask({ markerDir: markers, sleepMs: 4000 });
    const results: unknown[] = [];
    const pending = hub.dispatch('edge-kill', task, {}, AbortSignal.timeout(60_000)).then((r) => {
      results.push(r);
      return r;
    });
    await eventually(async () => (await runsOf(markers, task.taskId)).started === 1, { intervalMs: 20 });
    first.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const second = AgentProcess.start(['--config', config]);
    const result = await pending;
    expect(result).toMatchObject({ taskId: task.taskId, status: 'failed', installed: true, version: '1.4.2' });
    expect(result.error).toContain('interrupted');
    await second.waitFor(`task ${task.taskId}: was running when the agent stopped`);
    // Give a late second delivery (journal re-send, duplicate) every chance to show up: it must not.
    await new Promise((r) => setTimeout(r, 1000));
    expect(results).toHaveLength(1);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 0 });
    await expect(hub.dispatch('edge-kill', task, {}, AbortSignal.timeout(10_000))).resolves.toEqual(result);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 0 });
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 60_000);

  it('killed with SIGKILL after journaling a result it could not send: the restarted agent delivers it', async () => {
    const { config, stateDir } = await configFor('edge-owed', { port: relay.port });
    const first = AgentProcess.start(['--config', config]);
    await first.waitFor('connected to');
    const task = markerTask({ markerDir: markers, sleepMs: 1500 });
    const pending = hub.dispatch('edge-owed', task, {}, AbortSignal.timeout(60_000));
    await eventually(async () => (await runsOf(markers, task.taskId)).started === 1, { intervalMs: 20 });
    relay.pause();
    await first.waitFor(`task ${task.taskId}: succeeded`);
    const journal = await journalFiles(stateDir);
    expect(journal.some((entry) => entry.includes('"state": "finished"') && !entry.includes('acknowledgedAt'))).toBe(true);
    first.kill('SIGKILL');
    await first.exited;
    relay.resume();

    const second = AgentProcess.start(['--config', config]);
    await expect(pending).resolves.toMatchObject({ taskId: task.taskId, status: 'succeeded', version: '1.4.3' });
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
    await eventually(async () => (await journalFiles(stateDir)).every((entry) => entry.includes('acknowledgedAt')));
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 60_000);

  it('on SIGTERM lets the running task finish within the grace period, delivers its result and exits 0', async () => {
    const { config } = await configFor('edge-term', { grace: 20 });
    const agent = AgentProcess.start(['--config', config]);
    await agent.waitFor('connected to');
    const task = markerTask({ markerDir: markers, sleepMs: 1500 });
    const pending = hub.dispatch('edge-term', task, {}, AbortSignal.timeout(60_000));
    await eventually(async () => (await runsOf(markers, task.taskId)).started === 1, { intervalMs: 20 });
    agent.kill('SIGTERM');
    await expect(pending).resolves.toMatchObject({ status: 'succeeded' });
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(agent.output.join('\n')).toContain('waiting up to 20 s for 1 running task(s)');
  }, 60_000);

  it('on SIGTERM past the grace period cancels the task, journals it as cancelled and exits 0', async () => {
    const { config } = await configFor('edge-grace', { grace: 1 });
    const agent = AgentProcess.start(['--config', config]);
    await agent.waitFor('connected to');
    const task = markerTask({ markerDir: markers, sleepMs: 30_000 });
    const pending = hub.dispatch('edge-grace', task, {}, AbortSignal.timeout(60_000));
    await eventually(async () => (await runsOf(markers, task.taskId)).started === 1, { intervalMs: 20 });
    const stopping = Date.now();
    agent.kill('SIGTERM');
    await expect(pending).resolves.toMatchObject({ status: 'cancelled', error: 'stopped on request' });
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopping).toBeLessThan(10_000);
    expect(await runsOf(markers, task.taskId)).toEqual({ started: 1, finished: 1 });
  }, 60_000);

  it('runs from a credential Secret directory with bin/shipway-agent.js and the real executors (a bash script)', async () => {
    const secret = await tempDir('shipway-agent-secret-');
    const token = await side.register('edge-bin');
    await writeFile(join(secret, 'agent-id'), 'edge-bin');
    await writeFile(join(secret, 'token'), token);
    await writeFile(join(secret, 'ca.crt'), certs.caPem);
    const stateDir = join(await tempDir(), 'state');
    const workDir = await tempDir('shipway-agent-work-');
    await mkdir(stateDir);
    const agent = AgentProcess.start(['--server', `127.0.0.1:${hub.port}`, '--credential-file', secret, '--server-name', 'localhost', '--state-dir', stateDir], BIN);
    await agent.waitFor('connected to');
    const lines: string[] = [];
    const result = await hub.dispatch(
      'edge-bin',
      markerTask({ markerDir: markers, sleepMs: 0 }, {
        targetType: 'script',
        config: { settings: { update: 'echo "updating $APP_NAME to $APP_VERSION"', workDir } },
        env: { APP_NAME: 'web', APP_VERSION: '1.4.3' },
      }),
      { onLog: (m) => lines.push(...m.lines) },
      AbortSignal.timeout(30_000),
    );
    expect(result).toMatchObject({ status: 'succeeded', version: '1.4.3', installed: true });
    expect(lines).toContain('updating web to 1.4.3');
    expect(hub.connectedAgent('edge-bin')!.capabilities).toEqual(expect.arrayContaining(['docker', 'script', 'gitpull', 'health_check']));
    agent.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
    expect(agent.output.join('\n')).not.toContain(token);
  }, 60_000);
});
