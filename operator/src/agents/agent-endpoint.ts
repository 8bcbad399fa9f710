/**
 * The operator's side of agents, put together: the endpoint's certificate (from its Secret), credentials
 * (Secrets and hashes), the QUIC hub agents dial into, and the view the Target controller reads. Started by
 * the operator when it is given an agent port.
 */
import type { CoreV1Api } from '@kubernetes/client-node';
import type { AgentDirectory } from '../controllers/target-controller.ts';
import type { Repository } from '../storage/index.ts';
import { AgentCredentials } from './agent-credentials.ts';
import { createAgentDirectory } from './agent-directory.ts';
import { AgentHub } from './agent-hub.ts';
import { ensureAgentTls } from './agent-tls.ts';

export interface AgentEndpointOptions {
  core: CoreV1Api;
  repo: Repository;
  /** The operator's namespace: credential and certificate Secrets live here. */
  namespace: string;
  host: string;
  port: number;
  /** Names and addresses agents use to reach the endpoint (the certificate's SANs). */
  hostnames: string[];
  heartbeatSeconds?: number;
  onAgentChange: (agentId: string) => void;
  log: (line: string) => void;
  mask: (text: string) => string;
}

export interface AgentEndpoint {
  hub: AgentHub;
  credentials: AgentCredentials;
  directory: AgentDirectory;
  caPem: string;
  stop(): Promise<void>;
}

export async function startAgentEndpoint(o: AgentEndpointOptions): Promise<AgentEndpoint> {
  const tls = await ensureAgentTls(o.core, o.namespace, o.hostnames);
  const credentials = new AgentCredentials({ core: o.core, repo: o.repo, namespace: o.namespace, caPem: () => tls.caPem, log: o.log });
  const heartbeatSeconds = o.heartbeatSeconds ?? 10;
  const hub = await AgentHub.start({
    host: o.host,
    port: o.port,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    verify: (agentId, token) => credentials.verify(agentId, token),
    repo: o.repo,
    heartbeatSeconds,
    onAgentChange: o.onAgentChange,
    log: o.log,
    mask: o.mask,
  });
  o.log(`agent endpoint listening on ${o.host}:${hub.port} (QUIC) for ${o.hostnames.join(', ')}`);
  const directory = createAgentDirectory({ repo: o.repo, credentials, heartbeatSeconds, isConnected: (id) => hub.isConnected(id) });
  return { hub, credentials, directory, caPem: tls.caPem, stop: () => hub.stop() };
}
