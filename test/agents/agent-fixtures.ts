/**
 * What the agent tests share: certificates from the product's CA code, a migrated PGlite database with agents
 * registered the way AgentCredentials issues them, an agent hub on 127.0.0.1, in-process agents, the "marker"
 * test executor (one file per run, so a second run of a task shows), and a UDP relay that can cut the network.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import { Agent, type AgentOptions } from '../../agent/src/agent.ts';
import { AgentCredentials, newToken, tokenHash } from '../../operator/src/agents/agent-credentials.ts';
import { AgentHub, type AgentHubOptions, type TaskSpec } from '../../operator/src/agents/agent-hub.ts';
import { markerExecutors, type MarkerConfig } from './marker-executor.ts';
import type { QuicSettings } from '../../operator/src/protocol/quic-transport.ts';
import { createCertificateAuthority, issueCertificate } from '../../operator/src/runtime/certificates.ts';
import { createRepository, type Repository } from '../../operator/src/storage/index.ts';
import { openScratchDatabase, type ScratchDatabase } from '../support/test-databases.ts';

/** Short timeouts so a cut network is noticed in about a second and a half. */
export const FAST_QUIC: Partial<QuicSettings> = { maxIdleTimeoutMs: 1500, keepAliveIntervalMs: 300, handshakeTimeoutMs: 1500 };

export interface Certificates {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export async function makeCertificates(hosts = ['localhost', '127.0.0.1']): Promise<Certificates> {
  const ca = await createCertificateAuthority('shipway-agents-test');
  const leaf = await issueCertificate(ca, { subject: 'CN=shipway-operator', usage: 'server', hosts });
  return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem };
}

const tempDirs: string[] = [];
export async function tempDir(prefix = 'shipway-agent-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}
export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A database, credentials checked by the product's AgentCredentials, and tokens issued for agent ids. */
export class Operatorside {
  readonly tokens = new Map<string, string>();
  readonly logs: string[] = [];
  readonly changes: string[] = [];
  credentials!: AgentCredentials;
  repo!: Repository;
  private database!: ScratchDatabase;

  static async open(caPem: string): Promise<Operatorside> {
    const side = new Operatorside();
    side.database = await openScratchDatabase('pglite');
    side.repo = createRepository(side.database.db);
    // verify() and the database are all these tests need; Secrets are agent-credentials.test.ts's business.
    side.credentials = new AgentCredentials({ core: {} as CoreV1Api, repo: side.repo, namespace: 'shipway-system', caPem: () => caPem });
    return side;
  }

  async register(agentId: string): Promise<string> {
    const token = newToken();
    await this.repo.registerAgent({ id: agentId, namespace: 'shipway-system', credentialHash: tokenHash(token) });
    this.tokens.set(agentId, token);
    return token;
  }

  startHub(certs: Certificates, options: Partial<AgentHubOptions> = {}): Promise<AgentHub> {
    return AgentHub.start({
      host: '127.0.0.1',
      port: 0,
      certPem: certs.certPem,
      keyPem: certs.keyPem,
      verify: (agentId, token) => this.credentials.verify(agentId, token),
      repo: this.repo,
      heartbeatSeconds: 1,
      log: (line) => this.logs.push(line),
      onAgentChange: (agentId) => this.changes.push(agentId),
      ...options,
    });
  }

  async dispose(): Promise<void> {
    await this.database?.dispose();
  }
}

export { markerExecutor, markerExecutors, runsOf, type MarkerConfig } from './marker-executor.ts';

let taskCounter = 0;
export function markerTask(config: MarkerConfig, overrides: Partial<TaskSpec> = {}): TaskSpec {
  taskCounter++;
  return {
    taskId: `shop/rel-1/prod/web/edge/${process.pid}-${taskCounter}`,
    kind: 'deploy',
    operation: 'update',
    targetType: 'marker',
    app: 'web',
    version: '1.4.3',
    currentVersion: '1.4.2',
    config: { ...config },
    env: { APP_NAME: 'web', APP_VERSION: '1.4.3' },
    timeoutSeconds: 60,
    releaseRef: { namespace: 'shop', name: 'rel-1', uid: '0f8c2d8e-5b7a-4f2e-9d43-0c6c1b8f1a11' },
    environment: 'prod',
    target: 'edge',
    ...overrides,
  };
}

export interface InProcessAgent {
  agent: Agent;
  logs: string[];
  stateDir: string;
}

export async function startAgent(options: Omit<Partial<AgentOptions>, 'caPem' | 'credential'> & Pick<AgentOptions, 'port' | 'agentId'> & { caPem: string; token: string }): Promise<InProcessAgent> {
  const logs: string[] = [];
  const stateDir = options.stateDir ?? (await tempDir('shipway-agent-state-'));
  const { caPem, token, ...rest } = options;
  const agent = await Agent.create({
    host: '127.0.0.1',
    serverName: 'localhost',
    stateDir,
    executors: markerExecutors,
    reconnect: { initialMs: 100, maxMs: 1000 },
    shutdownGraceMs: 5000,
    log: (line) => logs.push(line),
    ...rest,
    credential: async () => token,
    caPem: async () => caPem,
  });
  agent.start();
  return { agent, logs, stateDir };
}

/** The agent's journal entries as stored on disk. */
export async function journalFiles(stateDir: string): Promise<string[]> {
  const dir = join(stateDir, 'journal');
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  return Promise.all(names.map((n) => readFile(join(dir, n), 'utf8')));
}

/**
 * A UDP relay on 127.0.0.1 between agents and the operator: one upstream socket per client address, so each
 * agent connection keeps its own path. While paused every datagram is dropped, both ways, as on a cut link.
 */
export class UdpRelay {
  private paused = false;
  private readonly upstreams = new Map<string, Socket>();
  dropped = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly target: number,
  ) {}

  static async start(targetPort: number): Promise<UdpRelay> {
    const socket = createSocket('udp4');
    const relay = new UdpRelay(socket, targetPort);
    socket.on('message', (message, from) => relay.fromClient(message, from));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    return relay;
  }

  get port(): number {
    return this.socket.address().port;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  private fromClient(message: Buffer, from: RemoteInfo): void {
    if (this.paused) {
      this.dropped++;
      return;
    }
    const key = `${from.address}:${from.port}`;
    let upstream = this.upstreams.get(key);
    if (!upstream) {
      upstream = createSocket('udp4');
      upstream.on('message', (reply) => {
        if (this.paused) {
          this.dropped++;
          return;
        }
        this.socket.send(reply, from.port, from.address);
      });
      upstream.bind(0, '127.0.0.1');
      this.upstreams.set(key, upstream);
    }
    upstream.send(message, this.target, '127.0.0.1');
  }

  async stop(): Promise<void> {
    for (const upstream of this.upstreams.values()) upstream.close();
    this.upstreams.clear();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }
}
