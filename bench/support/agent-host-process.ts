/**
 * Many real agents in one process, for bench/agent-scale.ts: each is set up as `shipway-agent
 * --credential-file <mounted Secret dir> --server-name localhost --state-dir <dir>` sets one up (agent/src/cli.ts:
 * loadAgentConfig, the default executors, Agent.create, start), so hello, heartbeats, the journal and
 * reconnects are the product's. The only difference from N separate commands is that they share a process
 * (and its executor registry), which keeps the agents' cost off the operator's process and the machine
 * usable. Driven over IPC (agent-scale-ipc.ts); log lines go to BENCH_HOST_LOG_FILE.
 */
import { createWriteStream } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Agent } from '../../agent/src/agent.ts';
import { agentOptions, loadAgentConfig } from '../../agent/src/agent-config.ts';
import { createDefaultExecutors } from '../../agent/src/default-executors.ts';
import type { HostReply, HostRequest, HostStats } from './agent-scale-ipc.ts';

const send = (reply: HostReply) => process.send!(reply);
process.on('disconnect', () => process.exit(0));

const logFile = process.env.BENCH_HOST_LOG_FILE;
if (!process.send || !logFile) {
  console.error('agent-host-process: run by bench/agent-scale.ts (needs an IPC channel and BENCH_HOST_LOG_FILE)');
  process.exit(2);
}
const logStream = createWriteStream(logFile, { flags: 'a' });

const agents: Agent[] = [];
const loop = monitorEventLoopDelay({ resolution: 20 });
loop.enable();
const counts = { welcomes: 0, failedAttempts: 0, disconnects: 0, heartbeatSeconds: null as number | null };
const errors = new Map<string, number>();

const blank = (text: string) => text.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<id>').replace(/bench-agent-\d+/g, '<agent>').replace(/\d+(\.\d+)?/g, 'N');

function logOf(agentId: string) {
  return (line: string) => {
    logStream.write(`${new Date().toISOString()} [${agentId}] ${line}\n`);
    const welcomed = /^connected to .*\(session .*, heartbeat (\d+) s\)$/.exec(line);
    if (welcomed) {
      counts.welcomes++;
      counts.heartbeatSeconds = Number(welcomed[1]);
      return;
    }
    const failed = /^connection to \S+ failed: (.*)$/.exec(line) ?? /^(the operator refused this agent: .*)$/.exec(line);
    if (failed) {
      counts.failedAttempts++;
      // The library's handshake timeout has no message: the agent logs nothing after "failed: ".
      const key = failed[1] === '' ? 'handshake timed out (ErrorQUICClientCreateTimeout, logged with an empty message)' : blank(failed[1]!);
      errors.set(key, (errors.get(key) ?? 0) + 1);
      return;
    }
    if (line === 'disconnected from the operator') counts.disconnects++;
    else if (/^no heartbeat acknowledgement/.test(line)) errors.set(blank(line), (errors.get(blank(line)) ?? 0) + 1);
  };
}

const stats = (): HostStats => ({
  agents: agents.length,
  connected: agents.filter((a) => a.connected).length,
  welcomes: counts.welcomes,
  failedAttempts: counts.failedAttempts,
  disconnects: counts.disconnects,
  heartbeatSeconds: counts.heartbeatSeconds,
  loopDelay: { p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 },
  topErrors: [...errors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([message, count]) => ({ message, count })),
});

process.on('message', (request: HostRequest) => {
  void (async () => {
    try {
      switch (request.type) {
        case 'start': {
          const t0 = performance.now();
          const executors = createDefaultExecutors();
          const created = await Promise.all(
            request.agents.map(async ({ agentId, credentialDir, stateDir }) => {
              const log = logOf(agentId);
              const config = await loadAgentConfig({ server: request.server, credentialFile: credentialDir, serverName: request.serverName, stateDir });
              return Agent.create(agentOptions(config, { executors, log }));
            }),
          );
          agents.push(...created);
          const startedAt = Date.now();
          created.forEach((agent, i) => {
            const delay = request.offsetMs + i * request.intervalMs;
            if (delay <= 0) agent.start();
            else setTimeout(() => agent.start(), delay);
          });
          send({ id: request.id, type: 'started', ms: performance.now() - t0, startedAt });
          return;
        }
        case 'stats': {
          const s = stats();
          if (request.resetLoopDelay) loop.reset();
          send({ id: request.id, type: 'stats', stats: s });
          return;
        }
        case 'stop':
          await Promise.race([Promise.all(agents.map((a) => a.stop(0))), new Promise((resolve) => setTimeout(resolve, 10_000))]);
          await new Promise<void>((resolve) => logStream.end(resolve));
          process.send!({ id: request.id, type: 'stopped' } satisfies HostReply, () => process.exit(0));
          return;
      }
    } catch (error) {
      send({ id: request.id, type: 'failed', error: (error as Error).stack ?? String(error) });
    }
  })();
});
send({ type: 'ready', pid: process.pid });
