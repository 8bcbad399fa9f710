/**
 * A real `shipway-agent` process for engine tests, started from the credential Secret the operator issued, as
 * the operator of a host would: the Secret's keys written to a directory, the agent dialing the operator's
 * agent endpoint on loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Engine } from './engine-fixture.ts';
import { eventually } from '../support/until.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'shipway-agent.js');

/** Waits for the agent's credential Secret, then starts the agent; its output lines go to `output`. */
export async function startAgentProcess(engine: Engine, agentId: string, options: { credentialDir: string; stateDir: string; output: string[] }): Promise<ChildProcess> {
  let secret: { data: Record<string, string> } | undefined;
  await eventually(async () => {
    secret = await engine.json(['get', 'secret', `shipway-agent-${agentId}`, '-n', 'default']).catch(() => undefined);
    return !!secret?.data?.token;
  }, { timeoutMs: 30_000, message: () => `no credential Secret for ${agentId}\n${engine.logs.slice(-20).join('\n')}` });
  await mkdir(options.credentialDir, { recursive: true });
  for (const [key, value] of Object.entries(secret!.data)) await writeFile(join(options.credentialDir, key), Buffer.from(value, 'base64'));
  const port = engine.operator.agents()!.hub.port;
  const child = spawn(process.execPath, [BIN, '--server', `127.0.0.1:${port}`, '--server-name', 'localhost', '--credential-file', options.credentialDir, '--state-dir', options.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => options.output.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return child;
}
