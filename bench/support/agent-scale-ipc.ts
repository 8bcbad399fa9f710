/**
 * What bench/agent-scale.ts and its child processes (agent-hub-process.ts, agent-host-process.ts) say to each
 * other over the Node IPC channel. Every request carries an id; the child answers with the same id.
 */

export interface LoopDelay {
  /** Event-loop delay percentiles since the last reset, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Parent → operator (hub) process. */
export type HubRequest =
  | { id: number; type: 'issue'; agentIds: string[] }
  /** `gc`: run a full garbage collection first (the hub runs with --expose-gc), so the heap is what is retained. */
  | { id: number; type: 'stats'; resetLoopDelay?: boolean; gc?: boolean }
  /** Starts a CPU profile of this process (node:inspector), or stops it and writes it to `file`. */
  | { id: number; type: 'profile'; action: 'start' } | { id: number; type: 'profile'; action: 'stop'; file: string }
  | { id: number; type: 'stop' };

export interface HubStats {
  connected: number;
  /** Sessions opened and closed since the start (a reconnect is one of each). */
  opened: number;
  closed: number;
  /** Heartbeat rows being written / written (the hub records the connection itself the same way). */
  heartbeatWritesStarted: number;
  heartbeatWritesDone: number;
  heartbeatWritesFailed: number;
  loopDelay: LoopDelay;
  heapUsedBytes: number;
  /** Memory of C++ objects bound to JS ones, Buffers and ArrayBuffers included (process.memoryUsage().external). */
  externalBytes: number;
  rssBytes: number;
  logLines: number;
}

/** Operator (hub) process → parent. */
export type HubReply =
  | { type: 'ready'; pid: number; port: number; /** null: the operator's default. */ heartbeatSeconds: number | null; startMs: number }
  | { id: number; type: 'issued'; issued: number; ms: number }
  | { id: number; type: 'stats'; stats: HubStats }
  | { id: number; type: 'profiled' }
  | { id: number; type: 'stopped' }
  | { id?: number; type: 'failed'; error: string };

export interface HostedAgent {
  agentId: string;
  /** The agent's credential Secret as mounted on its host: agent-id, token, ca.crt. */
  credentialDir: string;
  stateDir: string;
}

/** Parent → agent-host process. */
export type HostRequest =
  /** Agent i (0-based) starts dialing at `offsetMs + i * intervalMs` (both 0: all at once). */
  | { id: number; type: 'start'; server: string; serverName: string; agents: HostedAgent[]; offsetMs: number; intervalMs: number }
  | { id: number; type: 'stats'; resetLoopDelay?: boolean }
  | { id: number; type: 'stop' };

export interface HostStats {
  agents: number;
  connected: number;
  /** Welcomes received (first connections and reconnects). */
  welcomes: number;
  failedAttempts: number;
  disconnects: number;
  /** The heartbeat interval the operator's welcome asked for, as the agents logged it. */
  heartbeatSeconds: number | null;
  /** Event-loop delay of the agents' process(es) since the last reset: starved agents miss heartbeats. */
  loopDelay: LoopDelay;
  /** The most frequent failure messages, ids and numbers blanked out so alike ones group. */
  topErrors: Array<{ message: string; count: number }>;
}

/** Agent-host process → parent. */
export type HostReply =
  | { type: 'ready'; pid: number }
  /** `ms`: setting the agents up; `startedAt` (epoch ms): when the first one was told to start dialing. */
  | { id: number; type: 'started'; ms: number; startedAt: number }
  | { id: number; type: 'stats'; stats: HostStats }
  | { id: number; type: 'stopped' }
  | { id?: number; type: 'failed'; error: string };
