/**
 * Fetches the values variables refer to (Secret keys, environment variables, files, vault paths) for the
 * pure resolver. Every failure becomes a short error for that reference, never an exception and never
 * text that could hold a value: the resolver puts it in conditions and history.
 */
import { createReadStream } from 'node:fs';
import type { CoreV1Api } from '@kubernetes/client-node';
import { refKey, type FetchedValue, type ValueRef } from '../planning/variable-resolver.ts';
import { apiErrorMessage, isNotFound } from './api-errors.ts';

/** A store for external values the operator does not read itself (vault, and whatever comes next). */
export interface ExternalValueProvider {
  fetch(path: string, signal?: AbortSignal): Promise<string>;
}

export interface ExternalValueProviders {
  register(source: string, provider: ExternalValueProvider): void;
  get(source: string): ExternalValueProvider | undefined;
}

export function createExternalValueProviders(): ExternalValueProviders {
  const providers = new Map<string, ExternalValueProvider>();
  return {
    register: (source, provider) => void providers.set(source, provider),
    get: (source) => providers.get(source),
  };
}

export interface FetchValueRefsOptions {
  /** The release's namespace: secrets are read from there only. */
  namespace: string;
  core: CoreV1Api;
  env?: NodeJS.ProcessEnv;
  /** Larger files are refused; default 1 MiB. */
  fileLimitBytes?: number;
  providers?: ExternalValueProviders;
  signal?: AbortSignal;
}

const DEFAULT_FILE_LIMIT = 1024 * 1024;
const MAX_ERROR_LENGTH = 200;

/** One line, bounded: provider and API errors are not ours to trust with length. */
const short = (message: string) => {
  const line = message.split('\n', 1)[0]!.trim();
  return line.length > MAX_ERROR_LENGTH ? `${line.slice(0, MAX_ERROR_LENGTH - 1)}…` : line;
};

export async function fetchValueRefs(refs: Iterable<ValueRef>, options: FetchValueRefsOptions): Promise<Map<string, FetchedValue>> {
  const unique = new Map<string, ValueRef>();
  for (const ref of refs) unique.set(refKey(ref), ref);
  // Several keys of one Secret cost one read.
  const secrets = new Map<string, Promise<{ data: Record<string, string> } | { error: string }>>();
  const readSecret = (name: string) => {
    let read = secrets.get(name);
    if (!read) secrets.set(name, (read = secretData(options, name)));
    return read;
  };
  const fetchOne = async (ref: ValueRef): Promise<FetchedValue> => {
    switch (ref.kind) {
      case 'secret': {
        const read = await readSecret(ref.name);
        if ('error' in read) return read;
        // Own keys only: a key named like an Object method is no key at all.
        const encoded = Object.hasOwn(read.data, ref.key) ? read.data[ref.key] : undefined;
        return encoded === undefined ? { error: `the Secret has no key ${ref.key}` } : { value: Buffer.from(encoded, 'base64').toString('utf8') };
      }
      case 'env': {
        const env = options.env ?? process.env;
        const value = Object.hasOwn(env, ref.key) ? env[ref.key] : undefined;
        return value === undefined ? { error: 'not set' } : { value };
      }
      case 'file':
        return readLimited(ref.path, options.fileLimitBytes ?? DEFAULT_FILE_LIMIT);
      case 'vault': {
        const provider = options.providers?.get(ref.kind);
        if (!provider) return { error: `no provider is registered for external source ${ref.kind}` };
        try {
          return { value: await provider.fetch(ref.path, options.signal) };
        } catch (error) {
          return { error: short(error instanceof Error ? error.message : String(error)) || 'failed' };
        }
      }
    }
  };
  const entries = await Promise.all([...unique].map(async ([key, ref]) => [key, await fetchOne(ref)] as const));
  return new Map(entries);
}

async function secretData(options: FetchValueRefsOptions, name: string): Promise<{ data: Record<string, string> } | { error: string }> {
  try {
    const secret = await options.core.readNamespacedSecret({ namespace: options.namespace, name });
    return { data: secret.data ?? {} };
  } catch (error) {
    return { error: isNotFound(error) ? 'not found' : short(apiErrorMessage(error)) };
  }
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'not found',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not found',
  ELOOP: 'too many symbolic links',
};

async function readLimited(path: string, limit: number): Promise<FetchedValue> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    // One byte past the limit is enough to know the file is too large, however large it is.
    for await (const chunk of createReadStream(path, { start: 0, end: limit })) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { error: (code && FILE_ERRORS[code]) ?? (code ? `cannot be read (${code})` : 'cannot be read') };
  }
  return length > limit ? { error: `larger than ${limit} bytes` } : { value: Buffer.concat(chunks).toString('utf8') };
}
