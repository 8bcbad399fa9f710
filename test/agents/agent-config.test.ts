/** The agent's settings from flags, a config file and the credential Secret's directory, on real files. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAgentConfig, parseServer } from '../../agent/src/agent-config.ts';
import { removeTempDirs, tempDir } from './agent-fixtures.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

afterAll(removeTempDirs);

describe('agent configuration', () => {
  it('reads a token file and a CA file named by flags; the server name defaults to the host', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'token'), 'swa_abc\n');
    await writeFile(join(dir, 'ca.crt'), CA);
    const config = await loadAgentConfig({ server: 'operator.example.com:7443', agentId: 'edge-1', credentialFile: join(dir, 'token'), caFile: join(dir, 'ca.crt'), stateDir: join(dir, 'state') });
    expect(config).toMatchObject({ host: 'operator.example.com', port: 7443, serverName: 'operator.example.com', agentId: 'edge-1', stateDir: join(dir, 'state'), shutdownGraceMs: 30_000 });
    expect(await config.credential()).toBe('swa_abc');
    expect(await config.caPem()).toBe(CA);
    expect(config.describe).not.toContain('swa_abc');
  });

  it('takes agent id, token and CA from a mounted credential Secret, and picks up a rotated token', async () => {
    const secret = await tempDir();
    await writeFile(join(secret, 'agent-id'), 'edge-2\n');
    await writeFile(join(secret, 'token'), 'swa_first');
    await writeFile(join(secret, 'ca.crt'), CA);
    const config = await loadAgentConfig({ server: '[::1]:7443', credentialFile: secret, serverName: 'shipway-agents.shipway-system.svc' });
    expect(config).toMatchObject({ host: '::1', port: 7443, agentId: 'edge-2', serverName: 'shipway-agents.shipway-system.svc' });
    await writeFile(join(secret, 'token'), 'swa_second');
    expect(await config.credential()).toBe('swa_second');
  });

  it('reads a YAML file with the same keys, paths relative to the file, flags winning', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'secret'));
    await writeFile(join(dir, 'secret', 'token'), 'swa_yaml');
    await writeFile(join(dir, 'ca.pem'), CA);
    await writeFile(
      join(dir, 'agent.yaml'),
      ['server: 10.0.0.5:7443', 'server-name: ops.example', 'agent-id: edge-3', 'credential-file: secret/token', 'ca-file: ca.pem', 'state-dir: state', 'shutdown-grace: 5', 'quic:', '  maxIdleTimeoutMs: 20000'].join('\n'),
    );
    const config = await loadAgentConfig({ config: join(dir, 'agent.yaml'), agentId: 'edge-3b' });
    expect(config).toMatchObject({ host: '10.0.0.5', agentId: 'edge-3b', stateDir: join(dir, 'state'), shutdownGraceMs: 5000, quic: { maxIdleTimeoutMs: 20_000 } });
    expect(await config.credential()).toBe('swa_yaml');
  });

  it.each([
    [{}, '--server is required'],
    [{ server: 'no-port' }, '--server must be host:port'],
    [{ server: 'h:99999' }, '--server must be host:port'],
    [{ server: 'h:1' }, '--credential-file is required'],
    [{ server: 'h:1', credentialFile: '/nonexistent/token' }, 'cannot read the credential file /nonexistent/token: ENOENT'],
    [{ server: '10.0.0.5:7443', credentialFile: '/nonexistent/token' }, 'cannot read the credential file'],
  ])('refuses %j: %s', async (flags, message) => {
    await expect(loadAgentConfig(flags)).rejects.toThrow(message);
  });

  it('asks for a DNS server name when the server is given by IP address', async () => {
    const secret = await tempDir();
    await writeFile(join(secret, 'agent-id'), 'edge-ip');
    await writeFile(join(secret, 'token'), 'swa_x');
    await writeFile(join(secret, 'ca.crt'), CA);
    await expect(loadAgentConfig({ server: '10.0.0.5:7443', credentialFile: secret })).rejects.toThrow('give --server-name, a DNS name the operator certificate carries');
    await expect(loadAgentConfig({ server: '10.0.0.5:7443', credentialFile: secret, serverName: 'shipway-agents.example' })).resolves.toMatchObject({ host: '10.0.0.5', serverName: 'shipway-agents.example' });
  });

  it('refuses an unknown key in the config file and a token file without agent id', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'token'), 'swa_x');
    await writeFile(join(dir, 'bad.yaml'), 'server: h:1\nserverz: oops\n');
    await expect(loadAgentConfig({ config: join(dir, 'bad.yaml') })).rejects.toThrow('unknown setting "serverz"');
    await expect(loadAgentConfig({ server: 'h:1', credentialFile: join(dir, 'token') })).rejects.toThrow('--agent-id is required');
  });

  it('parses IPv4, IPv6 and host names with a port', () => {
    expect(parseServer('127.0.0.1:7443')).toEqual({ host: '127.0.0.1', port: 7443 });
    expect(parseServer('[fe80::1]:1')).toEqual({ host: 'fe80::1', port: 1 });
    expect(parseServer('ops.example:65535')).toEqual({ host: 'ops.example', port: 65535 });
  });
});
