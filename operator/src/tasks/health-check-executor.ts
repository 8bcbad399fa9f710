/**
 * `health_check` from the operator: http (GET, expected status or any 2xx) and tcp (connect). A check passes
 * after `successThreshold` consecutive successes and fails once more than `retry` tries failed, tries
 * `intervalSeconds` apart — as a Kubernetes probe with failureThreshold = retry + 1.
 */
import { connect } from 'node:net';
import { sleep } from '../runtime/sleep.ts';
import { errorMessage, guarded, permanentFailure } from './task-outcome.ts';
import type { TaskContext, TaskExecutor, TaskOutcome } from './task-executor.ts';
import { expandVariables } from '../planning/variable-text.ts';

/** One try: resolves with what it saw when healthy, throws with what was wrong otherwise. */
type Probe = (timeoutMs: number, signal: AbortSignal) => Promise<string>;

export function createHealthCheckExecutor(): TaskExecutor {
  return {
    type: 'health_check',
    onRestart: 'restart',
    run: guarded((context) => runHealthCheck(context)),
  };
}

async function runHealthCheck(context: TaskContext): Promise<TaskOutcome> {
  const spec = context.task.healthCheck;
  if (!spec) return permanentFailure(`task ${context.task.id} has no healthCheck block`);
  const type = spec.type ?? 'http';
  let probe: Probe;
  let subject: string;
  if (type === 'script') {
    return permanentFailure(
      `script health checks run on agent targets; target ${context.target.name} is a ${context.target.spec.type} target, use an http or tcp check`,
    );
  } else if (type === 'tcp') {
    if (!spec.host || !spec.port) return permanentFailure('a tcp health check needs host and port');
    const host = expandVariables(spec.host, context.variables);
    subject = `tcp ${host}:${spec.port}`;
    probe = tcpProbe(host, spec.port);
  } else {
    if (!spec.url) return permanentFailure('an http health check needs url');
    const url = expandVariables(spec.url, context.variables);
    subject = `GET ${url}`;
    probe = httpProbe(url, spec.expectStatus);
  }

  const threshold = spec.successThreshold ?? 1;
  const allowedFailures = spec.retry ?? 3;
  const intervalMs = (spec.intervalSeconds ?? 10) * 1000;
  const timeoutMs = (spec.timeoutSeconds ?? 10) * 1000;
  let successes = 0;
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    if (attempt > 1) await sleep(intervalMs, context.signal);
    context.signal.throwIfAborted();
    try {
      const seen = await probe(timeoutMs, context.signal);
      successes++;
      context.log(context.mask(`${subject}: ${seen} (try ${attempt}, ${successes}/${threshold} consecutive successes)`));
      if (successes >= threshold) {
        return { status: 'succeeded', output: context.mask(`${subject}: ${seen}${threshold > 1 ? ` (${threshold} consecutive successes)` : ''}`) };
      }
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      successes = 0;
      failures++;
      const line = `${subject}: ${errorMessage(error)}`;
      context.log(context.mask(`${line} (try ${attempt}, failure ${failures} of at most ${allowedFailures + 1})`));
      if (failures > allowedFailures) {
        return { status: 'failed', error: context.mask(`${line} (${failures === 1 ? 'the only try' : `${failures} tries`} failed)`), retryable: true };
      }
    }
  }
}

function httpProbe(url: string, expectStatus: number | undefined): Probe {
  return async (timeoutMs, signal) => {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if ((error as Error).name === 'TimeoutError') throw new Error(`no answer within ${timeoutMs / 1000}s`);
      // fetch says only "fetch failed"; the cause names the connection problem.
      const cause = (error as Error).cause;
      throw new Error(cause instanceof Error ? cause.message : errorMessage(error));
    }
    // The body is not needed, but must be consumed so the connection is released.
    await response.body?.cancel().catch(() => undefined);
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const healthy = expectStatus === undefined ? response.status >= 200 && response.status < 300 : response.status === expectStatus;
    if (!healthy) throw new Error(`${status}, expected ${expectStatus ?? 'a 2xx status'}`);
    return status;
  };
}

function tcpProbe(host: string, port: number): Probe {
  return (timeoutMs, signal) =>
    new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        if (error === undefined) resolve('connected');
        else reject(error);
      };
      const onAbort = () => finish(signal.reason);
      const timer = setTimeout(() => finish(new Error(`no connection within ${timeoutMs / 1000}s`)), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => finish());
      socket.once('error', (error) => finish(error));
    });
}
