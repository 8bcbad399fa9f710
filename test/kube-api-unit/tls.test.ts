import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KubeConfig, VersionApi } from '@kubernetes/client-node';
import { generateClientCertificate, generateServingCertificates, userFromCertificateSubject, type ServingCertificates } from '../kube-api/tls.ts';
import { renderKubeconfig } from '../kube-api/kubeconfig.ts';

const run = promisify(execFile);

const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '70d3cc986aa8221cd1dfb1121852688902d3bf53',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T17:59:15Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
};

interface Seen {
  path: string;
  user?: { name: string; groups: string[] };
  authorization?: string;
}

/** A tiny API server: answers GET /version, 401 without a client certificate or the expected token. */
async function startVersionServer(certs: ServingCertificates, host: string, token?: string): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer(
    { key: certs.keyPem, cert: certs.certPem, ca: certs.caCertPem, requestCert: true, rejectUnauthorized: false },
    (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket as TLSSocket;
      const user = socket.authorized ? userFromCertificateSubject(socket.getPeerCertificate().subject) : undefined;
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      seen.push({ path, user, authorization: req.headers.authorization });
      const authenticated = token === undefined ? user !== undefined : req.headers.authorization === `Bearer ${token}`;
      if (!authenticated) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
        return;
      }
      if (req.method === 'GET' && path === '/version') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(VERSION));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'not found', reason: 'NotFound', code: 404 }));
    },
  );
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, () => resolve()));
  const { port } = server.address() as AddressInfo;
  return { server, url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`, seen };
}

function get(url: string, options: { ca: string; cert?: string; key?: string; servername?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject).end();
  });
}

const closeServer = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('generated certificates', () => {
  let certs: ServingCertificates;
  let dir: string;

  beforeAll(async () => {
    certs = await generateServingCertificates({ hosts: ['127.0.0.1', 'localhost', '::1'] });
    dir = mkdtempSync(join(tmpdir(), 'kube-tls-'));
    for (const [name, pem] of Object.entries(certs)) writeFileSync(join(dir, `${name}.pem`), pem);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('chain to the CA for openssl, as a TLS server and a TLS client certificate', async () => {
    const ca = join(dir, 'caCertPem.pem');
    await expect(run('openssl', ['verify', '-CAfile', ca, '-purpose', 'sslserver', join(dir, 'certPem.pem')])).resolves.toMatchObject({ stdout: expect.stringContaining(': OK') });
    await expect(run('openssl', ['verify', '-CAfile', ca, '-purpose', 'sslclient', join(dir, 'clientCertPem.pem')])).resolves.toMatchObject({ stdout: expect.stringContaining(': OK') });
    const { stdout } = await run('openssl', ['x509', '-in', join(dir, 'certPem.pem'), '-noout', '-ext', 'subjectAltName,extendedKeyUsage']);
    expect(stdout).toContain('IP Address:127.0.0.1');
    expect(stdout).toContain('DNS:localhost');
    expect(stdout).toContain('IP Address:0:0:0:0:0:0:0:1');
    expect(stdout).toContain('TLS Web Server Authentication');
    const subject = await run('openssl', ['x509', '-in', join(dir, 'clientCertPem.pem'), '-noout', '-subject']);
    expect(subject.stdout).toMatch(/CN\s*=\s*admin, O\s*=\s*system:masters/);
  });

  it('serve Node HTTPS on every loopback name and identify the admin client as user admin in system:masters', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const { server, url, seen } = await startVersionServer(certs, host);
      try {
        const res = await get(`${url}/version`, { ca: certs.caCertPem, cert: certs.clientCertPem, key: certs.clientKeyPem });
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body).gitVersion).toBe('v1.32.0');
        expect(seen[0]?.user).toEqual({ name: 'admin', groups: ['system:masters'] });
        const byName = await get(`${url.replace(host === '::1' ? '[::1]' : host, 'localhost')}/version`, {
          ca: certs.caCertPem,
          cert: certs.clientCertPem,
          key: certs.clientKeyPem,
        }).catch((e: Error) => e);
        // "localhost" may resolve to the other address family; when it connects, the name must verify
        if (!(byName instanceof Error)) expect(byName.status).toBe(200);
        else expect(byName.message).not.toMatch(/certificate|altname/i);
      } finally {
        await closeServer(server);
      }
    }
  });

  it('are rejected by a client that trusts a different CA', async () => {
    const other = await generateServingCertificates({ hosts: ['127.0.0.1'] });
    const { server, url } = await startVersionServer(certs, '127.0.0.1');
    try {
      await expect(get(`${url}/version`, { ca: other.caCertPem })).rejects.toThrow(/certificate/i);
    } finally {
      await closeServer(server);
    }
  });

  it('sign extra client certificates with the same CA', async () => {
    const client = await generateClientCertificate(certs, { commonName: 'ci-bot', organizations: ['shipway', 'system:authenticated'] });
    const { server, url, seen } = await startVersionServer(certs, '127.0.0.1');
    try {
      const res = await get(`${url}/version`, { ca: certs.caCertPem, cert: client.certPem, key: client.keyPem });
      expect(res.status).toBe(200);
      expect(seen[0]?.user).toEqual({ name: 'ci-bot', groups: ['shipway', 'system:authenticated'] });
    } finally {
      await closeServer(server);
    }
  });

  describe('through a kubeconfig', () => {
    const kubectl = async (kubeconfig: string) => {
      const file = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(file, kubeconfig);
      return run('kubectl', ['--kubeconfig', file, '--cache-dir', join(dir, 'cache'), 'version', '-o', 'json', '--request-timeout=5s'], {
        timeout: 30_000,
        env: { ...process.env, HOME: dir, KUBECONFIG: '' },
      });
    };

    it('kubectl trusts the CA and authenticates with the admin client certificate', async () => {
      const { server, url, seen } = await startVersionServer(certs, '127.0.0.1');
      try {
        const { stdout } = await kubectl(renderKubeconfig({ server: url, caCertPem: certs.caCertPem, clientCertPem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem }));
        const version = JSON.parse(stdout);
        expect(version.serverVersion.gitVersion).toBe('v1.32.0');
        expect(version.clientVersion.gitVersion).toMatch(/^v1\.32\./); // the dispatcher ran kubectl.1.32 for a 1.32 server
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.every((s) => s.path === '/version' && s.user?.name === 'admin')).toBe(true);
      } finally {
        await closeServer(server);
      }
    });

    it('kubectl sends the bearer token', async () => {
      const { server, url, seen } = await startVersionServer(certs, '127.0.0.1', 'secret-token');
      try {
        const { stdout } = await kubectl(renderKubeconfig({ server: url, caCertPem: certs.caCertPem, token: 'secret-token' }));
        expect(JSON.parse(stdout).serverVersion.gitVersion).toBe('v1.32.0');
        expect(seen.every((s) => s.authorization === 'Bearer secret-token')).toBe(true);
      } finally {
        await closeServer(server);
      }
    });

    it('kubectl refuses a server whose certificate is not from the kubeconfig CA', async () => {
      const other = await generateServingCertificates({ hosts: ['127.0.0.1'] });
      const { server, url } = await startVersionServer(certs, '127.0.0.1', 'secret-token');
      try {
        const failure = await kubectl(renderKubeconfig({ server: url, caCertPem: other.caCertPem, token: 'secret-token' })).catch((e: { stderr?: string }) => e);
        expect(String((failure as { stderr?: string }).stderr ?? '')).toMatch(/certificate|x509/i);
      } finally {
        await closeServer(server);
      }
    });

    it('@kubernetes/client-node trusts the CA and presents the client certificate', async () => {
      const { server, url, seen } = await startVersionServer(certs, '127.0.0.1');
      try {
        const kc = new KubeConfig();
        kc.loadFromString(renderKubeconfig({ server: url, caCertPem: certs.caCertPem, clientCertPem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem }));
        const info = await kc.makeApiClient(VersionApi).getCode();
        expect(info.gitVersion).toBe('v1.32.0');
        expect(seen[0]?.user?.name).toBe('admin');
      } finally {
        await closeServer(server);
      }
    });
  });
});

describe('renderKubeconfig', () => {
  it('writes one cluster, user and context and makes it current', () => {
    const config = parse(renderKubeconfig({ server: 'https://127.0.0.1:6443/', caCertPem: 'CA', token: 't', contextName: 'emu', namespace: 'apps' }));
    expect(config).toEqual({
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      clusters: [{ name: 'emu', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from('CA').toString('base64') } }],
      users: [{ name: 'emu', user: { token: 't' } }],
      contexts: [{ name: 'emu', context: { cluster: 'emu', user: 'emu', namespace: 'apps' } }],
      'current-context': 'emu',
    });
  });

  it('marks plain http servers insecure-skip-tls-verify (client-node needs it) and leaves out the CA', () => {
    const config = parse(renderKubeconfig({ server: 'http://127.0.0.1:8080', caCertPem: 'CA' }));
    expect(config.clusters[0].cluster).toEqual({ server: 'http://127.0.0.1:8080', 'insecure-skip-tls-verify': true });
    expect(config.users[0].user).toEqual({});
  });

  it('base64-encodes client certificate and key', () => {
    const config = parse(renderKubeconfig({ server: 'https://localhost:1', insecureSkipTlsVerify: true, clientCertPem: 'C', clientKeyPem: 'K' }));
    expect(config.clusters[0].cluster['insecure-skip-tls-verify']).toBe(true);
    expect(config.users[0].user).toEqual({ 'client-certificate-data': 'Qw==', 'client-key-data': 'Sw==' });
  });

  it('rejects combinations kubectl would refuse', () => {
    expect(() => renderKubeconfig({ server: 'https://x', caCertPem: 'CA', insecureSkipTlsVerify: true })).toThrow(/exclude/);
    expect(() => renderKubeconfig({ server: 'https://x', clientCertPem: 'C' })).toThrow(/together/);
    expect(() => renderKubeconfig({ server: 'ftp://x' })).toThrow(/unsupported/);
  });
});
