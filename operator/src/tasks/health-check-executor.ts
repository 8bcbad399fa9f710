/**
 * `health_check` from the operator: http (GET, expected status or any 2xx) and tcp (connect). A check passes
 * after `successThreshold` consecutive successes and fails once more than `retry` tries failed, tries
 * `intervalSeconds` apart — as a Kubernetes probe with failureThreshold = retry + 1.
 */
import { httpProbe, tcpProbe, type Probe } from './health-probes.ts';
import { sleep } from '../runtime/sleep.ts';
import { errorMessage, guarded, permanentFailure } from './task-outcome.ts';
import type { TaskContext, TaskExecutor, TaskOutcome } from './task-executor.ts';
import { expandVariables } from '../planning/variable-text.ts';

/** One try: resolves with what it saw when healthy, throws with what was wrong otherwise. */

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


