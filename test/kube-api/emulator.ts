/**
 * Starts the Kubernetes API emulator in-process: the API, its controllers and an HTTP(S) server on a
 * loopback port, with a kubeconfig the real clients use as is. Tests start one per suite; `main.ts` runs one
 * in the foreground.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KubeApi } from './api.ts';
import { GarbageCollector } from './controllers/garbage-collector.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { KubeHttpServer } from './server.ts';
import { Store } from './store.ts';
import { generateServingCertificates } from './tls.ts';

export interface EmulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Plain HTTP instead of HTTPS (the kubeconfig then says insecure-skip-tls-verify). */
  http?: boolean;
  /** Keep objects in this JSON file across restarts. */
  dataFile?: string;
  /** Where to write the kubeconfig (it is also returned as text). */
  kubeconfigPath?: string;
  /** Milliseconds before a simulated Pod becomes ready. */
  podReadyDelayMs?: number;
  watchBookmarkIntervalMs?: number;
  watchDefaultTimeoutSeconds?: number;
  /** How many events a watch can resume from before 410 Expired. */
  eventLogCapacity?: number;
  /** Extra controllers (workloads) to run against the API; each returns a stop function. */
  controllers?: ((api: KubeApi, options: EmulatorOptions) => () => void)[];
}

export interface RunningEmulator {
  url: string;
  kubeconfig: string;
  kubeconfigPath?: string;
  caCertPem?: string;
  token: string;
  api: KubeApi;
  stop(): Promise<void>;
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const store = new Store(options.eventLogCapacity ?? 10_000);
  if (options.dataFile && existsSync(options.dataFile)) store.restore(JSON.parse(readFileSync(options.dataFile, 'utf8')));
  const api = new KubeApi({ store });
  const host = options.host ?? '127.0.0.1';
  const certs = options.http ? undefined : await generateServingCertificates({ hosts: [host, 'localhost', '127.0.0.1', '::1'] });
  const http = new KubeHttpServer(api, {
    ...(certs ? { tls: { key: certs.keyPem, cert: certs.certPem, ca: certs.caCertPem } } : {}),
    watch: {
      ...(options.watchBookmarkIntervalMs ? { bookmarkIntervalMs: options.watchBookmarkIntervalMs } : {}),
      ...(options.watchDefaultTimeoutSeconds ? { defaultTimeoutSeconds: options.watchDefaultTimeoutSeconds } : {}),
    },
  });
  const gc = new GarbageCollector(api);
  const stops = (options.controllers ?? []).map((start) => start(api, options));
  const url = await http.listen(options.port ?? 0, host);
  const token = randomBytes(24).toString('hex');
  const kubeconfig = renderKubeconfig({
    server: url,
    ...(certs ? { caCertPem: certs.caCertPem, clientCertPem: certs.clientCertPem, clientKeyPem: certs.clientKeyPem } : { token }),
    contextName: 'emulator',
  });
  if (options.kubeconfigPath) {
    await mkdir(dirname(options.kubeconfigPath), { recursive: true });
    await writeFile(options.kubeconfigPath, kubeconfig, { mode: 0o600 });
  }
  const persist = options.dataFile ? persister(store, options.dataFile) : undefined;
  const unsubscribe = persist ? store.subscribe(() => persist.schedule()) : () => {};
  return {
    url,
    kubeconfig,
    ...(options.kubeconfigPath ? { kubeconfigPath: options.kubeconfigPath } : {}),
    ...(certs ? { caCertPem: certs.caCertPem } : {}),
    token,
    api,
    async stop() {
      unsubscribe();
      for (const stop of stops) stop();
      gc.stop();
      await http.close();
      await persist?.flush();
    },
  };
}

/** Writes the store to its data file shortly after changes, atomically (write then rename). */
function persister(store: Store, file: string) {
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();
  const write = () => {
    timer = undefined;
    const text = JSON.stringify(store.snapshot());
    writing = writing.then(async () => {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, text);
      await rename(`${file}.tmp`, file);
    });
    return writing;
  };
  return {
    schedule() {
      timer ??= setTimeout(write, 100);
    },
    async flush() {
      if (timer) {
        clearTimeout(timer);
        await write();
      }
      await writing;
    },
  };
}
