/**
 * The operator's side of bench/agent-scale.ts, alone in its own process so that its CPU and memory can be
 * measured by themselves. It starts the agent endpoint the way the operator does (operator.ts →
 * startAgentEndpoint: the TLS identity from its Secret, AgentCredentials checking tokens against the database,
 * the QUIC AgentHub), on an embedded PGlite database opened and migrated like the operator's default one.
 *
 * Kubernetes is the only thing replaced: Secrets live in a small in-memory stand-in for CoreV1Api, which also
 * writes each agent credential Secret out as a directory (agent-id, token, ca.crt) the way a kubelet mounts a
 * Secret, so the agents start from it exactly as `shipway-agent --credential-file <dir>` does.
 *
 * With BENCH_HUB_DATABASE_URL (a PostgreSQL server, e.g. the throwaway one of scripts/with-postgres.sh) the
 * history goes to a scratch database created there and dropped at the end, as an operator with
 * --database-url: the database's own work then runs outside this process.
 *
 * Driven over IPC by the parent (messages in agent-scale-ipc.ts). Settings from the environment:
 * BENCH_HUB_HEARTBEAT_SECONDS (unset: the operator's default), BENCH_HUB_SECRETS_DIR, BENCH_HUB_LOG_FILE,
 * BENCH_HUB_DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { ApiException, type CoreV1Api, type V1Secret } from '@kubernetes/client-node';
import pg from 'pg';
import { startAgentEndpoint, type AgentEndpoint } from '../../operator/src/agents/agent-endpoint.ts';
import { createRepository, openDatabase, type OpenedDatabase, type Repository } from '../../operator/src/storage/index.ts';
import type { HubReply, HubRequest, HubStats } from './agent-scale-ipc.ts';

const started = performance.now();
const send = (reply: HubReply) => process.send!(reply);

// The parent is gone (finished, crashed or killed): nothing here is worth keeping.
process.on('disconnect', () => process.exit(0));

const secretsDir = process.env.BENCH_HUB_SECRETS_DIR;
const logFile = process.env.BENCH_HUB_LOG_FILE;
const databaseUrl = process.env.BENCH_HUB_DATABASE_URL || undefined;
const heartbeatSeconds = process.env.BENCH_HUB_HEARTBEAT_SECONDS ? Number(process.env.BENCH_HUB_HEARTBEAT_SECONDS) : undefined;
if (!process.send || !secretsDir || !logFile) {
  console.error('agent-hub-process: run by bench/agent-scale.ts (needs an IPC channel, BENCH_HUB_SECRETS_DIR and BENCH_HUB_LOG_FILE)');
  process.exit(2);
}

// The operator prints its log lines; here they go to a file the parent shows when something fails.
const logStream = createWriteStream(logFile, { flags: 'a' });
let logLines = 0;
const log = (line: string) => {
  logLines++;
  logStream.write(`${new Date().toISOString()} ${line}\n`);
};

/** CoreV1Api as far as the agent endpoint uses it: Secrets by name, kept in memory, credential ones mounted. */
class SecretStore {
  private readonly secrets = new Map<string, V1Secret>();

  constructor(private readonly mountDir: string) {}

  api(): CoreV1Api {
    const api = {
      readNamespacedSecret: async ({ name, namespace }: { name: string; namespace: string }) => this.read(namespace, name),
      createNamespacedSecret: async ({ namespace, body }: { namespace: string; body: V1Secret }) => this.write(namespace, body, 'create'),
      replaceNamespacedSecret: async ({ name, namespace, body }: { name: string; namespace: string; body: V1Secret }) => this.write(namespace, { ...body, metadata: { ...body.metadata, name } }, 'replace'),
      deleteNamespacedSecret: async ({ name, namespace }: { name: string; namespace: string }) => {
        this.read(namespace, name);
        this.secrets.delete(`${namespace}/${name}`);
        return {};
      },
    };
    return api as unknown as CoreV1Api;
  }

  private read(namespace: string, name: string): V1Secret {
    const secret = this.secrets.get(`${namespace}/${name}`);
    if (!secret) throw new ApiException(404, 'Not Found', { kind: 'Status', message: `secrets "${name}" not found`, code: 404 }, {});
    return structuredClone(secret);
  }

  private async write(namespace: string, body: V1Secret, verb: 'create' | 'replace'): Promise<V1Secret> {
    const name = body.metadata?.name ?? '';
    const key = `${namespace}/${name}`;
    if (verb === 'create' && this.secrets.has(key)) throw new ApiException(409, 'Conflict', { kind: 'Status', message: `secrets "${name}" already exists`, code: 409 }, {});
    if (verb === 'replace' && !this.secrets.has(key)) this.read(namespace, name);
    // As the API server stores it: stringData folded into base64 data.
    const data: Record<string, string> = { ...body.data };
    for (const [k, v] of Object.entries(body.stringData ?? {})) data[k] = Buffer.from(v, 'utf8').toString('base64');
    const stored: V1Secret = { ...body, metadata: { ...body.metadata, name, namespace, resourceVersion: String(Date.now()) }, data, stringData: undefined };
    this.secrets.set(key, stored);
    if (body.metadata?.labels?.['shipway.dev/agent']) await this.mount(name, data);
    return structuredClone(stored);
  }

  private async mount(name: string, data: Record<string, string>): Promise<void> {
    const dir = join(this.mountDir, name);
    await mkdir(dir, { recursive: true });
    for (const [k, v] of Object.entries(data)) {
      const partial = join(dir, `..${k}.partial`);
      await writeFile(partial, Buffer.from(v, 'base64'), { mode: 0o600 });
      await rename(partial, join(dir, k));
    }
  }
}

/** The repository with its heartbeat writes counted (the hub records connections and heartbeats through it). */
function counting(repo: Repository) {
  const counts = { started: 0, done: 0, failed: 0 };
  const counted: Repository = {
    ...repo,
    recordAgentHeartbeat: async (...args) => {
      counts.started++;
      try {
        const row = await repo.recordAgentHeartbeat(...args);
        counts.done++;
        return row;
      } catch (error) {
        counts.failed++;
        throw error;
      }
    },
  };
  return { counted, counts };
}

async function withAdmin(url: string, work: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** The operator's default database (embedded PGlite in memory), or a scratch PostgreSQL database; migrated. */
async function openHistory(): Promise<OpenedDatabase & { dispose(): Promise<void> }> {
  if (!databaseUrl) {
    const opened = await openDatabase({ driver: 'pglite' });
    return { ...opened, dispose: () => opened.close() };
  }
  const name = `shipway_agent_scale_${randomBytes(6).toString('hex')}`;
  await withAdmin(databaseUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  const drop = () => withAdmin(databaseUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
  try {
    const opened = await openDatabase({ driver: 'pg', url: url.toString() });
    return { ...opened, dispose: async () => { await opened.close(); await drop(); } };
  } catch (error) {
    await drop();
    throw error;
  }
}

async function main(): Promise<void> {
  const database = await openHistory();
  const { counted, counts } = counting(createRepository(database.db));
  const store = new SecretStore(secretsDir!);
  const sessions = { opened: 0, closed: 0 };
  const endpoint: AgentEndpoint = await startAgentEndpoint({
    core: store.api(),
    repo: counted,
    namespace: 'shipway-system',
    host: '127.0.0.1',
    port: 0,
    hostnames: ['localhost'],
    ...(heartbeatSeconds !== undefined ? { heartbeatSeconds } : {}),
    onAgentChange: (agentId) => {
      // The operator enqueues the agent's Targets here; the bench only counts the sessions coming and going.
      if (endpoint.hub.isConnected(agentId)) sessions.opened++;
      else sessions.closed++;
    },
    log,
    mask: (text) => text,
  });
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();

  const stats = (): HubStats => ({
    connected: endpoint.hub.connectedAgents().length,
    opened: sessions.opened,
    closed: sessions.closed,
    heartbeatWritesStarted: counts.started,
    heartbeatWritesDone: counts.done,
    heartbeatWritesFailed: counts.failed,
    loopDelay: { p50Ms: loop.percentile(50) / 1e6, p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 },
    ...(({ heapUsed, external, rss }) => ({ heapUsedBytes: heapUsed, externalBytes: external, rssBytes: rss }))(process.memoryUsage()),
    logLines,
  });

  let profiler: Session | undefined;
  process.on('message', (request: HubRequest) => {
    void (async () => {
      try {
        switch (request.type) {
          case 'issue': {
            // What the Target controller does for every agent a Target names (AgentDirectory.ensureCredential).
            const t0 = performance.now();
            let issued = 0;
            const queue = [...request.agentIds];
            await Promise.all(
              Array.from({ length: 8 }, async () => {
                for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
                  if ((await endpoint.directory.ensureCredential(id)) === 'issued') issued++;
                }
              }),
            );
            send({ id: request.id, type: 'issued', issued, ms: performance.now() - t0 });
            return;
          }
          case 'stats': {
            if (request.gc) (globalThis as { gc?: () => void }).gc?.();
            const s = stats();
            if (request.resetLoopDelay) loop.reset();
            send({ id: request.id, type: 'stats', stats: s });
            return;
          }
          case 'profile':
            if (request.action === 'start') {
              profiler ??= new Session();
              profiler.connect();
              await profiler.post('Profiler.enable');
              await profiler.post('Profiler.start');
            } else if (profiler) {
              const { profile } = await profiler.post('Profiler.stop');
              profiler.disconnect();
              await writeFile(request.file, JSON.stringify(profile));
            }
            send({ id: request.id, type: 'profiled' });
            return;
          case 'stop':
            loop.disable();
            await endpoint.stop();
            await database.dispose();
            await new Promise<void>((resolve) => logStream.end(resolve));
            process.send!({ id: request.id, type: 'stopped' } satisfies HubReply, () => process.exit(0));
            return;
        }
      } catch (error) {
        send({ id: request.id, type: 'failed', error: (error as Error).stack ?? String(error) });
      }
    })();
  });
  send({ type: 'ready', pid: process.pid, port: endpoint.hub.port, heartbeatSeconds: heartbeatSeconds ?? null, startMs: performance.now() - started });
}

main().catch((error: unknown) => {
  send({ type: 'failed', error: (error as Error).stack ?? String(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});
