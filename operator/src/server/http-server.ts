/**
 * The operator's HTTP endpoint: liveness (`/healthz`), readiness (`/readyz`), Prometheus metrics
 * (`/metrics`) and the build webhook (`POST /api/v1/builds/notify`). Every replica serves it — probes and
 * scrapes reach standbys too, and a webhook only annotates objects, which any replica may do.
 *
 * node:http rather than a framework: four routes, a bounded body and JSON answers are all it needs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What a route answers: a status and a JSON (or text) body. */
export interface HttpAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface HttpRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface OperatorHttpOptions {
  port: number;
  host?: string;
  /** Why the operator is not ready yet, or undefined when it is. */
  notReady(): string | undefined;
  metrics: Registry;
  buildNotify(request: HttpRequest): Promise<HttpAnswer>;
  log(line: string): void;
  /** Larger bodies are refused with 413 before they are read in full (default 1 MiB). */
  maxBodyBytes?: number;
}

export interface OperatorHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, answer: HttpAnswer): void {
  const text = typeof answer.body === 'string' ? answer.body : `${JSON.stringify(answer.body)}\n`;
  const type = typeof answer.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  response.writeHead(answer.status, { 'content-type': type, 'cache-control': 'no-store', ...answer.headers });
  response.end(text);
}

export async function startOperatorHttpServer(o: OperatorHttpOptions): Promise<OperatorHttpServer> {
  const limit = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const route = async (request: IncomingMessage): Promise<HttpAnswer> => {
    const path = new URL(request.url ?? '/', 'http://operator').pathname;
    const method = request.method ?? 'GET';
    const only = (allowed: string) => ({ status: 405, body: { error: `${method} is not allowed on ${path}; use ${allowed}` }, headers: { allow: allowed } });
    switch (path) {
      case '/healthz':
        return method === 'GET' || method === 'HEAD' ? { status: 200, body: 'ok\n' } : only('GET');
      case '/readyz': {
        if (method !== 'GET' && method !== 'HEAD') return only('GET');
        const reason = o.notReady();
        return reason === undefined ? { status: 200, body: 'ready\n' } : { status: 503, body: `not ready: ${reason}\n` };
      }
      case '/metrics':
        if (method !== 'GET') return only('GET');
        return { status: 200, body: await o.metrics.metrics(), headers: { 'content-type': o.metrics.contentType } };
      case '/api/v1/builds/notify': {
        if (method !== 'POST') return only('POST');
        const body = await readBody(request, limit);
        return o.buildNotify({ method, path, headers: request.headers, body });
      }
      default:
        return { status: 404, body: { error: `no such endpoint: ${path}` } };
    }
  };
  const server: Server = createServer((request, response) => {
    route(request)
      .then((answer) => send(response, answer))
      .catch((error: unknown) => {
        if (error instanceof BodyTooLarge) return send(response, { status: 413, body: { error: `the body is larger than ${limit} bytes` }, headers: { connection: 'close' } });
        o.log(`http: ${request.method} ${request.url}: ${(error as Error).message}`);
        if (!response.headersSent) send(response, { status: 500, body: { error: 'internal error; see the operator log' } });
        else response.destroy();
      });
  });
  // A client that trickles its request must not hold a socket forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'EADDRINUSE' ? `the HTTP port ${o.port} is in use (--http-port)` : `the HTTP endpoint did not start: ${error.message}`)),
    );
    server.listen(o.port, o.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
