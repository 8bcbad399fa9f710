/**
 * Which stream carries what. Each connection has one control stream, opened by the agent, for the session
 * (hello/welcome, heartbeats, control commands, status reports), and one bidirectional stream per task so that
 * a task's output never queues behind another's. A task stream is opened by the operator with task_assign, or by
 * the agent to re-deliver a journaled result after a reconnect (result → result_ack).
 *
 * Pure: the rules as data and a transition function; the caller decides what to do with a violation (answer
 * with an `error` message and skip it, as with a malformed frame).
 */
import type { MessageType, ProtocolMessage } from './messages.ts';

export type Channel = 'control' | 'task';
export type Sender = 'agent' | 'operator';

interface Route {
  channel: Channel | 'any';
  from: Sender | 'any';
}

export const ROUTES: Readonly<Record<MessageType, Route>> = {
  hello: { channel: 'control', from: 'agent' },
  welcome: { channel: 'control', from: 'operator' },
  heartbeat: { channel: 'control', from: 'agent' },
  heartbeat_ack: { channel: 'control', from: 'operator' },
  status_report: { channel: 'control', from: 'agent' },
  control: { channel: 'control', from: 'operator' },
  control_ack: { channel: 'control', from: 'agent' },
  task_assign: { channel: 'task', from: 'operator' },
  task_ack: { channel: 'task', from: 'agent' },
  progress: { channel: 'task', from: 'agent' },
  log: { channel: 'task', from: 'agent' },
  result: { channel: 'task', from: 'agent' },
  result_ack: { channel: 'task', from: 'operator' },
  error: { channel: 'any', from: 'any' },
};

/** Why a message does not belong on this stream from this sender, or undefined when it does. */
export function checkRoute(message: ProtocolMessage, channel: Channel, from: Sender): string | undefined {
  const route = ROUTES[message.type];
  if (route.channel !== 'any' && route.channel !== channel) return `${message.type} belongs on a ${route.channel} stream, not a ${channel} stream`;
  if (route.from !== 'any' && route.from !== from) return `${message.type} is sent by the ${route.from}, not the ${from}`;
  return undefined;
}

/**
 * Where a task stream is: `start` (nothing yet), `assigned` (waiting for task_ack), `running` (progress and log
 * until the result), `resulted` (waiting for result_ack), `closed`; and whose it is, once the first message said.
 */
export type TaskStreamPhase = 'start' | 'assigned' | 'running' | 'resulted' | 'closed';

export interface TaskStream {
  phase: TaskStreamPhase;
  taskId?: string;
}

export const NEW_TASK_STREAM: TaskStream = { phase: 'start' };

/**
 * The task stream after `message`, or why the message is out of order. Every message must name the stream's
 * task; `error` messages are allowed anywhere and change nothing.
 */
export function advanceTaskStream(stream: TaskStream, message: ProtocolMessage): { stream: TaskStream } | { error: string } {
  if (message.type === 'error') return { stream };
  const taskId = 'taskId' in message ? message.taskId : undefined;
  if (stream.taskId !== undefined && taskId !== stream.taskId) {
    return { error: `${message.type} names task ${String(taskId)} on the stream of task ${stream.taskId}` };
  }
  const phase = nextPhase(stream.phase, message);
  if (phase === undefined) return { error: `${message.type} is out of order on a task stream that is ${stream.phase === 'start' ? 'new' : stream.phase}` };
  return { stream: { phase, ...(taskId !== undefined ? { taskId } : {}) } };
}

function nextPhase(phase: TaskStreamPhase, message: ProtocolMessage): TaskStreamPhase | undefined {
  switch (phase) {
    case 'start':
      if (message.type === 'task_assign') return 'assigned';
      if (message.type === 'result') return 'resulted';
      return undefined;
    case 'assigned':
      if (message.type !== 'task_ack') return undefined;
      if (message.status === 'refused') return 'closed';
      // A duplicate that already ran answers with its journaled outcome, which then needs acknowledging.
      return message.status === 'duplicate' && message.result ? 'resulted' : 'running';
    case 'running':
      if (message.type === 'progress' || message.type === 'log') return 'running';
      if (message.type === 'result') return 'resulted';
      return undefined;
    case 'resulted':
      return message.type === 'result_ack' ? 'closed' : undefined;
    case 'closed':
      return undefined;
  }
}
