import { describe, expect, it } from 'vitest';
import { advanceTaskStream, checkRoute, NEW_TASK_STREAM, ROUTES, type TaskStream } from '../../operator/src/protocol/channels.ts';
import { MESSAGE_TYPES, type ProtocolMessage } from '../../operator/src/protocol/messages.ts';
import { SAMPLES } from './sample-messages.ts';

const T = 'task-7';
const assign = { ...SAMPLES.task_assign[0], taskId: T } as ProtocolMessage;
const ack = (status: 'accepted' | 'duplicate' | 'refused', withResult = false): ProtocolMessage => ({
  v: 1,
  type: 'task_ack',
  taskId: T,
  status,
  ...(status === 'refused' ? { reason: 'busy' } : {}),
  ...(withResult ? { result: { status: 'succeeded', installed: true, durationMs: 3 } } : {}),
});
const progress: ProtocolMessage = { v: 1, type: 'progress', taskId: T, percent: 10, phase: 'pull' };
const log: ProtocolMessage = { v: 1, type: 'log', taskId: T, seq: 0, lines: ['x'] };
const result: ProtocolMessage = { v: 1, type: 'result', taskId: T, status: 'succeeded', installed: true, durationMs: 3 };
const resultAck: ProtocolMessage = { v: 1, type: 'result_ack', taskId: T };
const error: ProtocolMessage = { v: 1, type: 'error', code: 'invalid_message', message: 'x' };

function run(messages: ProtocolMessage[]): TaskStream | string {
  let stream = NEW_TASK_STREAM;
  for (const message of messages) {
    const step = advanceTaskStream(stream, message);
    if ('error' in step) return step.error;
    stream = step.stream;
  }
  return stream;
}

describe('protocol channels', () => {
  it('routes every message type', () => {
    expect(Object.keys(ROUTES).sort()).toEqual([...MESSAGE_TYPES].sort());
  });

  const routes: [ProtocolMessage, 'control' | 'task', 'agent' | 'operator', string | undefined][] = [
    [SAMPLES.hello[0]!, 'control', 'agent', undefined],
    [SAMPLES.hello[0]!, 'control', 'operator', 'hello is sent by the agent, not the operator'],
    [SAMPLES.hello[0]!, 'task', 'agent', 'hello belongs on a control stream, not a task stream'],
    [SAMPLES.control[0]!, 'control', 'operator', undefined],
    [SAMPLES.status_report[0]!, 'control', 'agent', undefined],
    [SAMPLES.task_assign[0]!, 'task', 'operator', undefined],
    [SAMPLES.task_assign[0]!, 'control', 'operator', 'task_assign belongs on a task stream, not a control stream'],
    [SAMPLES.result[0]!, 'task', 'operator', 'result is sent by the agent, not the operator'],
    [error, 'task', 'agent', undefined],
    [error, 'control', 'operator', undefined],
  ];
  it.each(routes.map(([message, channel, from, expected]) => [message.type, channel, from, message, expected] as const))(
    'checks whether %s may travel on a %s stream from the %s',
    (_type, channel, from, message, expected) => {
      expect(checkRoute(message, channel, from)).toBe(expected);
    },
  );

  it.each<[string, ProtocolMessage[], TaskStream | string]>([
    ['a task that runs to its acknowledged result', [assign, ack('accepted'), progress, log, log, progress, result, resultAck], { phase: 'closed', taskId: T }],
    ['a task the agent refuses', [assign, ack('refused')], { phase: 'closed', taskId: T }],
    ['a duplicate that already ran, answered with its journaled outcome', [assign, ack('duplicate', true), resultAck], { phase: 'closed', taskId: T }],
    ['a duplicate still running, whose result follows', [assign, ack('duplicate'), log, result, resultAck], { phase: 'closed', taskId: T }],
    ['a journaled result re-delivered by the agent', [result, resultAck], { phase: 'closed', taskId: T }],
    ['errors anywhere', [error, assign, error, ack('accepted'), error], { phase: 'running', taskId: T }],
    ['progress before the ack', [assign, progress], 'progress is out of order on a task stream that is assigned'],
    ['a second assignment', [assign, ack('accepted'), assign], 'task_assign is out of order on a task stream that is running'],
    ['anything after the close', [assign, ack('refused'), log], 'log is out of order on a task stream that is closed'],
    ['a log before anything', [log], 'log is out of order on a task stream that is new'],
    ['a result acknowledged twice', [result, resultAck, resultAck], 'result_ack is out of order on a task stream that is closed'],
    ['a message about another task', [assign, { ...ack('accepted'), taskId: 'task-8' } as ProtocolMessage], 'task_ack names task task-8 on the stream of task task-7'],
  ])('follows %s', (_name, messages, expected) => {
    expect(run(messages)).toEqual(expected);
  });
});
