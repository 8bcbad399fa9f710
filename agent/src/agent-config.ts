/**
 * The agent's settings, from flags and an optional YAML/JSON file with the same keys (flags win). The
 * credential file is either the token itself or a directory holding the keys of the agent's credential
 * Secret (`agent-id`, `token`, `ca.crt`) as a mounted Secret lays them out; the token and CA are read again
 * before every connection attempt, so a rotated Secret is picked up without a restart.
 */
import { readFile, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { QUIC_SETTINGS, type QuicSettings } from '../../operator/src/protocol/quic-transport.ts';
import type { AgentOptions } from './agent.ts';

/** The flags as commander gives them, and the config file's keys (kebab-case or camelCase). */
export interface AgentFlags {
  server?: string;
  agentId?: string;
  credentialFile?: string;
  caFile?: string;
  serverName?: string;
  stateDir?: string;
  config?: string;
  shutdownGrace?: string | number;
}

export interface AgentConfig {
  host: string;
  port: number;
  serverName: string;
  agentId: string;
  stateDir: string;
  shutdownGraceMs: number;
  quic?: Partial<QuicSettings>;
  credential(): Promise<string>;
  caPem(): Promise<string>;
  /** Where the credential and CA come from, for the start-up line (never the token itself). */
  describe: string;
}

/** The Agent's options from a loaded config, with what only the caller provides (its executors and log). */
export function agentOptions(config: AgentConfig, own: Pick<AgentOptions, 'executors' | 'log'>): AgentOptions {
  return {
    host: config.host,
    port: config.port,
    serverName: config.serverName,
    agentId: config.agentId,
    credential: config.credential,
    caPem: config.caPem,
    stateDir: config.stateDir,
    shutdownGraceMs: config.shutdownGraceMs,
    ...(config.quic ? { quic: config.quic } : {}),
    ...own,
  };
}

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

const FILE_KEYS: Record<string, keyof AgentFlags | 'quic'> = {
  server: 'server',
  'agent-id': 'agentId',
  agentId: 'agentId',
  'credential-file': 'credentialFile',
  credentialFile: 'credentialFile',
  'ca-file': 'caFile',
  caFile: 'caFile',
  'server-name': 'serverName',
  serverName: 'serverName',
  'state-dir': 'stateDir',
  stateDir: 'stateDir',
  'shutdown-grace': 'shutdownGrace',
  shutdownGrace: 'shutdownGrace',
  quic: 'quic',
};
const KNOWN_FILE_KEYS = Object.keys(FILE_KEYS).filter((key) => !/[A-Z]/.test(key)).join(', ');
const PATH_KEYS = new Set(['credentialFile', 'caFile', 'stateDir']);
const AGENT_ID = /^[!-~]{1,253}$/;
const DEFAULT_SHUTDOWN_GRACE_SECONDS = 30;

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new AgentConfigError(`cannot read the ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (error) {
    throw new AgentConfigError(`cannot read the credential file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function readConfigFile(path: string): Promise<{ flags: AgentFlags; quic?: Partial<QuicSettings> }> {
  const text = await readText(path, 'config file');
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new AgentConfigError(`config file ${path} is not YAML or JSON: ${(error as Error).message}`);
  }
  if (data === null || data === undefined) return { flags: {} };
  if (typeof data !== 'object' || Array.isArray(data)) throw new AgentConfigError(`config file ${path} must hold a mapping of settings`);
  const flags: AgentFlags = {};
  let quic: Partial<QuicSettings> | undefined;
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const field = FILE_KEYS[key];
    if (!field) throw new AgentConfigError(`config file ${path}: unknown setting ${JSON.stringify(key)} (known: ${KNOWN_FILE_KEYS})`);
    if (field === 'quic') {
      quic = quicSettings(value, path);
      continue;
    }
    if (typeof value !== 'string' && !(field === 'shutdownGrace' && typeof value === 'number')) throw new AgentConfigError(`config file ${path}: ${key} must be a string`);
    const text = String(value);
    // Paths in the file are relative to the file, not to wherever the agent was started.
    flags[field] = PATH_KEYS.has(field) && !isAbsolute(text) ? resolve(dirname(path), text) : text;
  }
  return { flags, ...(quic ? { quic } : {}) };
}

function quicSettings(value: unknown, path: string): Partial<QuicSettings> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new AgentConfigError(`config file ${path}: quic must be a mapping`);
  const settings: Partial<QuicSettings> = {};
  for (const [key, number] of Object.entries(value as Record<string, unknown>)) {
    if (!(key in QUIC_SETTINGS)) throw new AgentConfigError(`config file ${path}: unknown quic setting ${JSON.stringify(key)} (known: ${Object.keys(QUIC_SETTINGS).join(', ')})`);
    if (typeof number !== 'number' || !Number.isInteger(number) || number < 0) throw new AgentConfigError(`config file ${path}: quic.${key} must be a whole number`);
    settings[key as keyof QuicSettings] = number;
  }
  return settings;
}

export function parseServer(address: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port < 1 || port > 65535) throw new AgentConfigError(`--server must be host:port (e.g. operator.example.com:7443 or [::1]:7443), got ${JSON.stringify(address)}`);
  return { host: (match[1] ?? match[2])!, port };
}

export async function loadAgentConfig(cliFlags: AgentFlags): Promise<AgentConfig> {
  const file = cliFlags.config ? await readConfigFile(resolve(cliFlags.config)) : { flags: {} as AgentFlags };
  const defined = Object.fromEntries(Object.entries(cliFlags).filter(([, v]) => v !== undefined)) as AgentFlags;
  const flags: AgentFlags = { ...file.flags, ...defined };
  if (!flags.server) throw new AgentConfigError('--server is required (the operator agent endpoint, host:port)');
  const { host, port } = parseServer(flags.server);
  if (!flags.credentialFile) throw new AgentConfigError('--credential-file is required (the token, or a directory with the keys of the agent credential Secret)');
  const credentialPath = resolve(flags.credentialFile);
  const fromSecret = await isDirectory(credentialPath);
  let agentId = flags.agentId;
  if (!agentId && fromSecret) agentId = (await readText(join(credentialPath, 'agent-id'), 'agent id')).trim();
  if (!agentId) throw new AgentConfigError('--agent-id is required (or a credential directory with an agent-id key)');
  if (!AGENT_ID.test(agentId)) throw new AgentConfigError(`agent id ${JSON.stringify(agentId)} must be 1-253 printable characters without spaces`);
  const caPath = flags.caFile ? resolve(flags.caFile) : fromSecret ? join(credentialPath, 'ca.crt') : undefined;
  if (!caPath) throw new AgentConfigError('--ca-file is required (the CA that signed the operator certificate), unless the credential file is a Secret directory with ca.crt');
  const tokenPath = fromSecret ? join(credentialPath, 'token') : credentialPath;
  const grace = flags.shutdownGrace === undefined ? DEFAULT_SHUTDOWN_GRACE_SECONDS : Number(flags.shutdownGrace);
  if (!Number.isFinite(grace) || grace < 0) throw new AgentConfigError(`--shutdown-grace must be a number of seconds, got ${JSON.stringify(flags.shutdownGrace)}`);
  const serverName = flags.serverName ?? host;
  if (isIP(serverName)) {
    throw new AgentConfigError(
      `the server name ${serverName} is an IP address, which the QUIC library cannot check a certificate against: give --server-name, a DNS name the operator certificate carries (its agent endpoint host names)`,
    );
  }
  const config: AgentConfig = {
    host,
    port,
    serverName,
    agentId,
    stateDir: resolve(flags.stateDir ?? join(homedir(), '.shipway-agent', agentId)),
    shutdownGraceMs: grace * 1000,
    ...(file.quic ? { quic: file.quic } : {}),
    credential: async () => {
      const token = (await readText(tokenPath, 'credential')).trim();
      if (!token) throw new AgentConfigError(`the credential file ${tokenPath} is empty`);
      return token;
    },
    caPem: async () => {
      const pem = await readText(caPath, 'CA file');
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new AgentConfigError(`the CA file ${caPath} holds no PEM certificate`);
      return pem;
    },
    describe: `credential ${tokenPath}, CA ${caPath}`,
  };
  // Fail at start-up, not at the first connection attempt, when a file is missing.
  await config.credential();
  await config.caPem();
  return config;
}
