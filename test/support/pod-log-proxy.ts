/**
 * A stand-in for the kubelet's log endpoint in front of the API emulator. The emulator simulates pods (they
 * finish by their image tag, README "Test conventions") without running anything and serves no
 * `pods/<name>/log`; this plain-HTTP proxy on 127.0.0.1 forwards every request to the emulator (watches
 * included) except `GET /api/v1/namespaces/<ns>/pods/<pod>/log`, which it answers by running the pod's
 * container command on this machine with the container's environment — values and `secretKeyRef`s resolved
 * as the kubelet would — so a Job's log holds what its script printed. Each pod runs once; later reads
 * return the same output. Only for scripts a test wrote itself (they run on the test machine).
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { CoreV1Api, KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';

export interface PodRun {
  namespace: string;
  pod: string;
  command: string[];
  output: string;
  exitCode: number | null;
}

export interface PodLogProxy {
  /** A KubeConfig for clients that should see pod logs (the operator): plain HTTP to this proxy. */
  kubeConfig(): KubeConfig;
  /** Every pod whose command ran, in order. */
  runs: PodRun[];
  close(): Promise<void>;
}

const LOG_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/;
const RUN_TIMEOUT_MS = 10_000;

/** `upstream` is read on each request, so the proxy can start before the cluster it fronts. */
export async function startPodLogProxy(upstream: () => KubeConfig): Promise<PodLogProxy> {
  const runs: PodRun[] = [];
  const outputs = new Map<string, Promise<string>>();
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const log = LOG_PATH.exec(url.pathname);
    const serve = req.method === 'GET' && log ? serveLog(upstream(), decodeURIComponent(log[1]!), decodeURIComponent(log[2]!), url.searchParams, res) : forward(upstream(), req, res);
    serve.catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `pod log proxy: ${error instanceof Error ? error.message : String(error)}`, code: 502 }));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function serveLog(kubeConfig: KubeConfig, namespace: string, name: string, query: URLSearchParams, res: ServerResponse) {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    let pod: V1Pod;
    try {
      pod = await core.readNamespacedPod({ namespace, name });
    } catch {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `pods "${name}" not found`, reason: 'NotFound', code: 404 }));
      return;
    }
    const containers = pod.spec?.containers ?? [];
    const container = containers.find((c) => c.name === query.get('container')) ?? containers[0];
    const key = `${pod.metadata?.uid}/${container?.name}`;
    let output = outputs.get(key);
    if (!output) outputs.set(key, (output = container ? runContainer(core, namespace, name, container) : Promise.resolve('')));
    let text = await output;
    const tailLines = Number(query.get('tailLines'));
    if (tailLines > 0) {
      const lines = text.replace(/\n$/, '').split('\n');
      text = lines.slice(-tailLines).join('\n') + (text ? '\n' : '');
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(text);
  }

  async function runContainer(core: CoreV1Api, namespace: string, pod: string, container: V1Container): Promise<string> {
    const command = [...(container.command ?? []), ...(container.args ?? [])];
    if (command.length === 0) return '';
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref) {
        const secret = await core.readNamespacedSecret({ namespace, name: ref.name! });
        const data = secret.data?.[ref.key];
        if (data !== undefined) env[variable.name] = Buffer.from(data, 'base64').toString('utf8');
      } else if (variable.value !== undefined) {
        env[variable.name] = variable.value;
      }
    }
    const { output, exitCode } = await new Promise<{ output: string; exitCode: number | null }>((resolve) => {
      const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: RUN_TIMEOUT_MS, killSignal: 'SIGKILL' });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      child.on('error', (error) => resolve({ output: `${text}${error.message}\n`, exitCode: null }));
      child.on('close', (code) => resolve({ output: text, exitCode: code }));
    });
    runs.push({ namespace, pod, command, output, exitCode });
    return output;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    runs,
    kubeConfig: () => {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromOptions({
        clusters: [{ name: 'pod-log-proxy', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
        users: [{ name: 'admin' }],
        contexts: [{ name: 'pod-log-proxy', cluster: 'pod-log-proxy', user: 'admin' }],
        currentContext: 'pod-log-proxy',
      });
      return kubeConfig;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Everything else goes to the emulator as it came, streamed both ways (watches stay open). */
async function forward(kubeConfig: KubeConfig, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const server = new URL(kubeConfig.getCurrentCluster()!.server);
  const options: RequestOptions = {
    protocol: server.protocol,
    hostname: server.hostname,
    port: server.port,
    method: req.method ?? 'GET',
    path: req.url ?? '/',
    headers: { ...req.headers, host: server.host },
  };
  await kubeConfig.applyToHTTPSOptions(options);
  options.agent = undefined;
  const upstream = httpsRequest(options, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`pod log proxy: ${error.message}`);
  });
  // A client that goes away (an informer restarting its watch) ends the upstream request too.
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}
