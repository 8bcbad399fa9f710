/**
 * Benchmarks of the Kubernetes API emulator over real HTTPS, as the clients use it:
 * - list of 10,000 custom objects (also as a Table, the way `kubectl get` asks);
 * - watch fan-out: 100 watchers, time from a write until every watcher has the event;
 * - sustained writes at a target of 1,000 per second.
 * Prints a table; run with `make bench`.
 */
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { startEmulator, type RunningEmulator } from '../test/kube-api/emulator.ts';

const OBJECTS = Number(process.env.BENCH_OBJECTS ?? 10_000);
const WATCHERS = Number(process.env.BENCH_WATCHERS ?? 100);
const FANOUT_WRITES = 50;
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const RATE_SECONDS = 5;

interface Row {
  benchmark: string;
  result: string;
  detail: string;
}

function client(emulator: RunningEmulator) {
  const agent = new Agent({ ca: emulator.caCertPem, keepAlive: true, maxSockets: 64 });
  const url = new URL(emulator.url);
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        { host: url.hostname, port: url.port, path, method, agent, headers: { authorization: `Bearer ${emulator.token}`, 'content-type': 'application/json', ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  return { agent, url, call };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (v: number) => `${v.toFixed(1)} ms`;

async function main(): Promise<void> {
  const emulator = await startEmulator({ eventLogCapacity: 50_000 });
  const { agent, url, call } = client(emulator);
  const rows: Row[] = [];
  try {
    const crd = parse(readFileSync(new URL('../crds/targets.shipway.dev.yaml', import.meta.url), 'utf8'));
    await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    await call('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    const base = '/apis/shipway.dev/v1alpha1/namespaces/bench/targets';
    const target = (i: number) => ({
      apiVersion: 'shipway.dev/v1alpha1',
      kind: 'Target',
      metadata: { name: `t-${String(i).padStart(5, '0')}`, labels: { shard: String(i % 10) } },
      spec: { type: 'script', environment: 'prod', agent: `agent-${i % 50}`, host: `host-${i}.example.internal` },
    });

    // Create: 16 concurrent clients.
    let next = 0;
    const createStart = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < OBJECTS) {
          const i = next++;
          const res = await call('POST', base, target(i));
          if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${res.text}`);
        }
      }),
    );
    const createSeconds = (performance.now() - createStart) / 1000;
    rows.push({ benchmark: `create ${OBJECTS} custom objects (16 clients)`, result: `${Math.round(OBJECTS / createSeconds)} objects/s`, detail: `${createSeconds.toFixed(2)} s in all` });

    const listTimes: number[] = [];
    let listBytes = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const res = await call('GET', base);
      listTimes.push(performance.now() - t);
      listBytes = res.text.length;
      if (JSON.parse(res.text).items.length !== OBJECTS) throw new Error('list returned the wrong count');
    }
    rows.push({ benchmark: `list ${OBJECTS} custom objects`, result: ms(percentile(listTimes, 50)), detail: `p50 of 5; ${(listBytes / 1e6).toFixed(1)} MB` });
    const tableTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await call('GET', base, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
      tableTimes.push(performance.now() - t);
    }
    rows.push({ benchmark: `list ${OBJECTS} as a Table (kubectl get)`, result: ms(percentile(tableTimes, 50)), detail: 'p50 of 3' });
    const selectorTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await call('GET', `${base}?labelSelector=shard%3D3`);
      selectorTimes.push(performance.now() - t);
    }
    rows.push({ benchmark: `list with a label selector (1 in 10)`, result: ms(percentile(selectorTimes, 50)), detail: 'p50 of 5' });

    // Watch fan-out: WATCHERS streams on one object's changes.
    const rv = JSON.parse((await call('GET', `${base}?limit=1`)).text).metadata.resourceVersion as string;
    const received = new Map<string, number>();
    const watchers: { destroy: () => void }[] = [];
    const sentAt = new Map<string, number>();
    const lag: number[] = [];
    await Promise.all(
      Array.from({ length: WATCHERS }, () =>
        new Promise<void>((resolve, reject) => {
          const req = request({ host: url.hostname, port: url.port, path: `${base}?watch=true&resourceVersion=${rv}&fieldSelector=metadata.name%3Dt-00000`, agent: new Agent({ ca: emulator.caCertPem }), headers: { authorization: `Bearer ${emulator.token}` } }, (res) => {
            let buffer = '';
            res.on('data', (chunk: Buffer) => {
              buffer += chunk.toString('utf8');
              let nl: number;
              while ((nl = buffer.indexOf('\n')) >= 0) {
                const event = JSON.parse(buffer.slice(0, nl));
                buffer = buffer.slice(nl + 1);
                const version = event.object?.metadata?.resourceVersion as string;
                const count = (received.get(version) ?? 0) + 1;
                received.set(version, count);
                if (count === WATCHERS && sentAt.has(version)) lag.push(performance.now() - sentAt.get(version)!);
              }
            });
            resolve();
          });
          req.on('error', reject);
          req.end();
          watchers.push({ destroy: () => req.destroy() });
        }),
      ),
    );
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < FANOUT_WRITES; i++) {
      const t = performance.now();
      const res = await call('PATCH', `${base}/t-00000`, { metadata: { labels: { round: String(i) } } }, { 'content-type': 'application/merge-patch+json' });
      const version = JSON.parse(res.text).metadata.resourceVersion as string;
      sentAt.set(version, t);
      if ((received.get(version) ?? 0) === WATCHERS) lag.push(performance.now() - t);
      const deadline = performance.now() + 5000;
      while ((received.get(version) ?? 0) < WATCHERS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    }
    for (const w of watchers) w.destroy();
    rows.push({ benchmark: `watch fan-out to ${WATCHERS} watchers`, result: `p50 ${ms(percentile(lag, 50))}`, detail: `write → all ${WATCHERS} have it; p99 ${ms(percentile(lag, 99))}; ${lag.length}/${FANOUT_WRITES} complete` });

    // Sustained writes at RATE per second, open loop: a write starts every 1/RATE s whatever the latency.
    const latencies: number[] = [];
    let failures = 0;
    const total = RATE * RATE_SECONDS;
    const start = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      pending.push(
        call('PATCH', `${base}/t-${String(i % OBJECTS).padStart(5, '0')}`, { metadata: { annotations: { n: String(i) } } }, { 'content-type': 'application/merge-patch+json' }).then((res) => {
          latencies.push(performance.now() - t);
          if (res.status !== 200) failures++;
        }),
      );
    }
    await Promise.all(pending);
    const seconds = (performance.now() - start) / 1000;
    rows.push({ benchmark: `writes at a target of ${RATE}/s for ${RATE_SECONDS} s`, result: `${Math.round(total / seconds)} writes/s`, detail: `p50 ${ms(percentile(latencies, 50))}, p99 ${ms(percentile(latencies, 99))}, ${failures} failed` });
    const memory = process.memoryUsage();
    rows.push({ benchmark: 'memory at the end (emulator and benchmark share the process)', result: `${Math.round(memory.rss / 1e6)} MB RSS`, detail: `heap used ${Math.round(memory.heapUsed / 1e6)} MB` });
  } finally {
    agent.destroy();
    await emulator.stop();
  }
  console.table(rows);
}

await main();
