/**
 * The QUIC transport on 127.0.0.1: whom the client trusts, what the idle timeout and keep-alive do, and that
 * streams opened from either side carry bytes both ways.
 */
import { webcrypto } from 'node:crypto';
import { QUICClient } from '@matrixai/quic';
import Logger, { LogLevel } from '@matrixai/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectQuic, startQuicServer, type ByteStream, type QuicServerHandle, type QuicSession } from '../../operator/src/protocol/quic-transport.ts';
import { makeCertificates, UdpRelay, type Certificates } from './agent-fixtures.ts';

const SHORT = { maxIdleTimeoutMs: 1000, keepAliveIntervalMs: 200, handshakeTimeoutMs: 2000 };

async function echo(stream: ByteStream): Promise<void> {
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    await writer.write(value);
  }
  await writer.close();
}

async function roundTrip(session: QuicSession, text: string): Promise<string> {
  const stream = session.openStream();
  const writer = stream.writable.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  let received = '';
  for await (const chunk of stream.readable as unknown as AsyncIterable<Uint8Array>) received += new TextDecoder().decode(chunk);
  return received;
}

describe('QUIC transport', () => {
  let certs: Certificates;
  let server: QuicServerHandle;
  const serverSessions: QuicSession[] = [];

  beforeAll(async () => {
    certs = await makeCertificates();
    server = await startQuicServer({
      host: '127.0.0.1',
      port: 0,
      certPem: certs.certPem,
      keyPem: certs.keyPem,
      settings: SHORT,
      onSession: (session) => {
        serverSessions.push(session);
        session.onStream((stream) => void echo(stream).catch(() => undefined));
      },
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('connects to a server whose certificate the CA signed for that name, and carries streams both ways', async () => {
    const session = await connectQuic({ host: '127.0.0.1', port: server.port, serverName: 'localhost', caPem: certs.caPem, settings: SHORT });
    try {
      expect(await roundTrip(session, 'hello over quic')).toBe('hello over quic');
      // A stream the server opens reaches the client's listener.
      const opened = new Promise<ByteStream>((resolve) => session.onStream(resolve));
      const mine = serverSessions.at(-1)!.openStream();
      const writer = mine.writable.getWriter();
      await writer.write(new TextEncoder().encode('from the server'));
      const theirs = await opened;
      const { value } = await theirs.readable.getReader().read();
      expect(new TextDecoder().decode(value)).toBe('from the server');
    } finally {
      await session.close({ force: true });
    }
  });

  it.each([
    ['a certificate from another CA', async () => (await makeCertificates()).caPem, 'localhost'],
    ['a name the certificate does not carry', async () => certs.caPem, 'operator.example.com'],
  ])('refuses a server with %s', async (_what, ca, serverName) => {
    await expect(connectQuic({ host: '127.0.0.1', port: server.port, serverName, caPem: await ca(), settings: SHORT })).rejects.toThrow('TLS verification');
  });

  it('says that an IP address cannot be the server name, instead of failing the handshake', async () => {
    await expect(connectQuic({ host: '127.0.0.1', port: server.port, serverName: '127.0.0.1', caPem: certs.caPem })).rejects.toThrow('use a DNS name the server certificate carries');
  });

  it('turns away a QUIC client of another application protocol (ALPN)', async () => {
    const attempt = QUICClient.createQUICClient(
      {
        host: '127.0.0.1',
        port: server.port,
        serverName: 'localhost',
        crypto: { ops: { randomBytes: async (data: ArrayBuffer) => void webcrypto.getRandomValues(new Uint8Array(data)) } },
        config: { verifyPeer: true, ca: certs.caPem, maxIdleTimeout: 1000 },
        logger: new Logger('alpn-test', LogLevel.SILENT, []),
      },
      { timer: 2000 },
    );
    // 376 = 0x100 + TLS alert 120, no_application_protocol.
    await expect(attempt).rejects.toThrow('transport code 376');
  });

  it('keeps an idle connection open with keep-alives past the idle timeout', async () => {
    const session = await connectQuic({ host: '127.0.0.1', port: server.port, serverName: 'localhost', caPem: certs.caPem, settings: SHORT });
    try {
      await new Promise((r) => setTimeout(r, 2500));
      expect(session.isClosed).toBe(false);
      expect(await roundTrip(session, 'still here')).toBe('still here');
    } finally {
      await session.close({ force: true });
    }
  });

  it('closes a connection whose peer went silent within the idle timeout', async () => {
    const relay = await UdpRelay.start(server.port);
    try {
      const session = await connectQuic({ host: '127.0.0.1', port: relay.port, serverName: 'localhost', caPem: certs.caPem, settings: SHORT });
      relay.pause();
      const cut = Date.now();
      await Promise.race([session.closed, new Promise((_, reject) => setTimeout(() => reject(new Error('still open after 5 s')), 5000))]);
      expect(Date.now() - cut).toBeLessThan(3000);
      expect(session.isClosed).toBe(true);
    } finally {
      await relay.stop();
    }
  });
});
