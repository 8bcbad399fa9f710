/**
 * Talking to a Docker engine for the docker executor: connecting by address (the Target's `docker.host`),
 * pulling with the engine's progress stream read to its end (a pull reports most failures inside the stream,
 * not in the HTTP status), and reading a container's last log lines.
 */
import Docker from 'dockerode';

export interface DockerEngineTls {
  ca: string;
  cert: string;
  key: string;
}

export interface DockerEngineAddress {
  /** unix:///var/run/docker.sock, tcp://host:2376 or ssh://user@host; default DOCKER_HOST, else the local socket. */
  host?: string;
  /** PEM contents of the Target's tlsSecretRef Secret; the agent reads no Kubernetes Secret itself. */
  tls?: DockerEngineTls;
}

export function connectDocker(engine: DockerEngineAddress = {}): Docker {
  const tls = engine.tls ? { ca: engine.tls.ca, cert: engine.tls.cert, key: engine.tls.key } : {};
  if (!engine.host) return new Docker(tls);
  const url = new URL(engine.host);
  switch (url.protocol) {
    case 'unix:':
      return new Docker({ socketPath: decodeURIComponent(url.pathname) });
    case 'tcp:':
      return new Docker({
        host: url.hostname,
        port: url.port || (engine.tls ? 2376 : 2375),
        protocol: engine.tls ? 'https' : 'http',
        ...tls,
      });
    case 'ssh:':
      return new Docker({
        protocol: 'ssh',
        host: url.hostname,
        port: url.port || 22,
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      });
    default:
      throw new Error(`unsupported Docker engine address ${engine.host}: use unix://, tcp:// or ssh://`);
  }
}

/** The HTTP status of an engine error (dockerode puts it on `statusCode`). */
export function engineStatus(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own message, without dockerode's "(HTTP code 404) unexpected - " prefix. */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: { message?: unknown } } | null)?.json;
  if (json && typeof json.message === 'string') return json.message.trim();
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(HTTP code \d+\)\s*[\w ]*-\s*/, '').trim();
}

export class ImageNotFoundError extends Error {
  constructor(
    readonly repository: string,
    readonly tag: string,
    detail: string,
  ) {
    super(`image ${repository}:${tag} was not found: the registry has no tag ${tag} for ${repository} (${detail})`);
    this.name = 'ImageNotFoundError';
  }
}

interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

const NOT_FOUND = /manifest unknown|not found|does not exist|no such image/i;

/**
 * Pull `repository:tag`, reporting each layer's state changes (not every byte count) through `log`. An unknown
 * tag becomes an ImageNotFoundError; aborting `signal` closes the request, which makes the engine stop pulling.
 */
export async function pullImage(
  docker: Docker,
  repository: string,
  tag: string,
  options: { signal: AbortSignal; log: (line: string) => void },
): Promise<void> {
  const { signal, log } = options;
  signal.throwIfAborted();
  const notFound = (detail: string) => new ImageNotFoundError(repository, tag, detail);
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(`${repository}:${tag}`, { abortSignal: signal })) as NodeJS.ReadableStream;
  } catch (error) {
    signal.throwIfAborted();
    const message = engineMessage(error);
    if (engineStatus(error) === 404 || NOT_FOUND.test(message)) throw notFound(message);
    throw new Error(`pulling ${repository}:${tag} failed: ${message}`, { cause: error });
  }
  await new Promise<void>((resolve, reject) => {
    let buffer = '';
    let failure: Error | undefined;
    const seen = new Set<string>();
    const onLine = (line: string) => {
      if (!line.trim()) return;
      let event: PullEvent;
      try {
        event = JSON.parse(line) as PullEvent;
      } catch {
        return;
      }
      const error = event.errorDetail?.message ?? event.error;
      if (error) {
        failure ??= NOT_FOUND.test(error) ? notFound(error) : new Error(`pulling ${repository}:${tag} failed: ${error}`);
        return;
      }
      if (!event.status) return;
      const hasBytes = event.progressDetail && typeof event.progressDetail.current === 'number';
      const text = event.id ? `${event.id}: ${event.status}` : event.status;
      if (hasBytes || seen.has(text)) return;
      seen.add(text);
      log(`pull ${text}`);
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    stream.on('error', (error: Error) => reject(signal.aborted ? signal.reason : error));
    stream.on('end', () => {
      onLine(buffer);
      if (failure) reject(failure);
      else resolve();
    });
  });
  signal.throwIfAborted();
}

export async function imageExists(docker: Docker, reference: string): Promise<boolean> {
  try {
    await docker.getImage(reference).inspect();
    return true;
  } catch (error) {
    if (engineStatus(error) === 404) return false;
    throw error;
  }
}

/**
 * The last `lines` lines a container wrote. Without a TTY the engine multiplexes stdout and stderr in frames
 * of an 8-byte header (stream, 0, 0, 0, big-endian length) and the payload.
 */
export async function containerLogTail(container: Docker.Container, lines: number): Promise<string[]> {
  const raw = (await container.logs({ stdout: true, stderr: true, follow: false, tail: lines })) as unknown as Buffer;
  const buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
  let text = '';
  let offset = 0;
  const framed = buffer.length >= 8 && buffer[0]! <= 2 && buffer[1] === 0 && buffer[2] === 0 && buffer[3] === 0;
  if (framed) {
    while (offset + 8 <= buffer.length) {
      const length = buffer.readUInt32BE(offset + 4);
      text += buffer.subarray(offset + 8, offset + 8 + length).toString('utf8');
      offset += 8 + length;
    }
  } else {
    text = buffer.toString('utf8');
  }
  return text.split('\n').map((line) => line.replace(/\r$/, '')).filter((line) => line.length > 0).slice(-lines);
}
