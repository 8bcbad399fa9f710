/**
 * A loopback HTTP server playing the receivers of notifications: the DingTalk custom robot (checking
 * `timestamp` and `sign` as DingTalk does, with its errcodes), the WeCom group robot and a generic webhook.
 * Tests may script the next answers of a path (status and body, or no answer at all).
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  /** As sent: path and query, still encoded. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface ScriptedAnswer {
  status: number;
  body?: string;
  /** Never answer: for timeouts. */
  hang?: boolean;
}

export interface RobotReceiver {
  base: string;
  /** DingTalk robot URL of this access token. */
  dingTalkUrl(token: string): string;
  /** WeCom robot URL of this key. */
  weComUrl(key: string): string;
  received: ReceivedRequest[];
  /** Answers the next requests to `path` with these, in order; afterwards the path's own behaviour. */
  script(path: string, ...answers: ScriptedAnswer[]): void;
  reset(): void;
  close(): Promise<void>;
}

export interface RobotAccounts {
  /** DingTalk access tokens, each with its signing secret (undefined: the robot does not sign). */
  dingTalk: Record<string, string | undefined>;
  /** WeCom robot keys. */
  weCom: string[];
}

const ONE_HOUR_MS = 60 * 60 * 1000;
const json = (value: unknown) => JSON.stringify(value);

/** DingTalk's side of signing: recompute from the robot's secret and compare, within an hour of its clock. */
function dingTalkAnswer(query: URLSearchParams, secret: string | undefined): { errcode: number; errmsg: string } {
  if (secret === undefined) return { errcode: 0, errmsg: 'ok' };
  const timestamp = query.get('timestamp');
  const sign = query.get('sign');
  if (!timestamp || !sign) return { errcode: 310000, errmsg: 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]' };
  if (Math.abs(Date.now() - Number(timestamp)) > ONE_HOUR_MS) return { errcode: 310000, errmsg: 'timestamp is invalid' };
  const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(`${timestamp}\n${secret}`, 'utf8')).digest('base64');
  if (sign !== expected) return { errcode: 310000, errmsg: 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]' };
  return { errcode: 0, errmsg: 'ok' };
}

export async function startRobotReceiver(accounts: RobotAccounts): Promise<RobotReceiver> {
  const received: ReceivedRequest[] = [];
  const scripts = new Map<string, ScriptedAnswer[]>();

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://receiver');
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // Recorded as text: the test asserts on what arrived.
      }
      received.push({ method: req.method ?? '', url: req.url ?? '', path: url.pathname, query: url.searchParams, headers: req.headers, body });

      const scripted = scripts.get(url.pathname)?.shift();
      if (scripted) {
        if (scripted.hang) return;
        res.writeHead(scripted.status, { 'content-type': 'application/json' }).end(scripted.body ?? '');
        return;
      }
      const answerJson = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(json(value));
      if (url.pathname === '/robot/send') {
        const token = url.searchParams.get('access_token') ?? '';
        if (!Object.hasOwn(accounts.dingTalk, token)) return answerJson({ errcode: 300001, errmsg: 'token is not exist' });
        return answerJson(dingTalkAnswer(url.searchParams, accounts.dingTalk[token]));
      }
      if (url.pathname === '/cgi-bin/webhook/send') {
        if (!accounts.weCom.includes(url.searchParams.get('key') ?? '')) return answerJson({ errcode: 93000, errmsg: 'invalid webhook url, hint: [1700000000_1_abc]' });
        return answerJson({ errcode: 0, errmsg: 'ok' });
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    base,
    dingTalkUrl: (token) => `${base}/robot/send?access_token=${token}`,
    weComUrl: (key) => `${base}/cgi-bin/webhook/send?key=${key}`,
    received,
    script: (path, ...answers) => scripts.set(path, [...(scripts.get(path) ?? []), ...answers]),
    reset: () => {
      received.length = 0;
      scripts.clear();
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
