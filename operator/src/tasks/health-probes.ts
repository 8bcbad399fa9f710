/**
 * The probes of a health check — an HTTP GET that must answer 2xx (or the expected status), a TCP connect —
 * shared by the operator's health_check executor and the agent's: one probe, bounded by its timeout and the
 * caller's signal, resolving with what it saw or rejecting with why it failed.
 */
import { connect } from 'node:net';

export type Probe = (timeoutMs: number, signal: AbortSignal) => Promise<string>;

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function httpProbe(url: string, expectStatus: number | undefined): Probe {
  return async (timeoutMs, signal) => {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) });
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if ((error as Error).name === 'TimeoutError') throw new Error(`no answer within ${timeoutMs / 1000} s`);
      // fetch says only "fetch failed"; the cause names the connection problem.
      const cause = (error as Error).cause;
      throw new Error(cause instanceof Error ? cause.message : errorText(error));
    }
    // The body is not needed, but must be consumed so the connection is released.
    await response.body?.cancel().catch(() => undefined);
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    const healthy = expectStatus === undefined ? response.status >= 200 && response.status < 300 : response.status === expectStatus;
    if (!healthy) throw new Error(`${status}, expected ${expectStatus ?? 'a 2xx status'}`);
    return status;
  };
}

export function tcpProbe(host: string, port: number): Probe {
  return (timeoutMs, signal) =>
    new Promise((resolvePromise, reject) => {
      const socket = connect({ host, port });
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.destroy();
        if (error === undefined) resolvePromise('connected');
        else reject(error instanceof Error ? error : new Error(String(error)));
      };
      const onAbort = () => finish(signal.reason);
      const timer = setTimeout(() => finish(new Error(`no connection within ${timeoutMs / 1000} s`)), timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      socket.once('connect', () => finish());
      socket.once('error', (error) => finish(error));
    });
}
