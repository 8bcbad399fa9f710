/** Parsing of API paths, query parameters and bodies. */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { badRequest, unsupportedMediaType } from './errors.ts';
import { decodeKubernetesProtobuf, ProtobufError } from './protobuf.ts';

export interface ResourcePath {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/**
 * `/api/v1/namespaces/ns/pods/x/status`, `/apis/apps/v1/deployments`, `/api/v1/namespaces/ns` ... →
 * parts; `isNamespaced(group, version, plural)` tells `namespaces/{ns}/{plural}` from a namespace's own paths.
 */
export function parseResourcePath(pathname: string, isNamespaced: (group: string, version: string, plural: string) => boolean): ResourcePath | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (rest[0] === 'namespaces' && rest.length >= 3 && isNamespaced(group, version, rest[2]!)) {
    return { group, version, namespace: rest[1]!, plural: rest[2]!, ...(rest[3] ? { name: rest[3] } : {}), ...(rest[4] ? { subresource: rest[4] } : {}), ...(rest.length > 5 ? { subresource: '\u0000' } : {}) };
  }
  return { group, version, plural: rest[0]!, ...(rest[1] ? { name: rest[1] } : {}), ...(rest[2] ? { subresource: rest[2] } : {}), ...(rest.length > 3 ? { subresource: '\u0000' } : {}) };
}

export async function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<string> {
  return (await readBodyBytes(req, limit)).toString('utf8');
}

/** The raw body: protobuf bodies are binary. */
export async function readBodyBytes(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * JSON, YAML or Kubernetes protobuf bodies (kubectl >= 1.32 and helm send typed writes as protobuf, built-in
 * kinds only, with no fallback). CBOR is refused with 415: client-go falls back to JSON for CBOR.
 */
export function decodeBody(body: string | Buffer, contentType: string | undefined): Record<string, any> {
  const type = (contentType ?? 'application/json').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/vnd.kubernetes.protobuf') {
    try {
      return decodeKubernetesProtobuf(typeof body === 'string' ? Buffer.from(body, 'binary') : body);
    } catch (error) {
      if (error instanceof ProtobufError) throw badRequest(`the body of the request could not be decoded: ${error.message}`);
      throw error;
    }
  }
  if (type.includes('protobuf') || type.includes('cbor')) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') throw badRequest('the body of the request was empty');
  try {
    return type.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded: ${(error as Error).message}`);
  }
}

export function wantsTable(accept: string | undefined): boolean {
  return Boolean(accept && accept.split(',').some((p) => p.includes('as=Table') && p.includes('g=meta.k8s.io')));
}

export function tableVersion(accept: string | undefined): 'v1' | 'v1beta1' {
  const part = accept?.split(',').find((p) => p.includes('as=Table'));
  return part && /v=v1beta1/.test(part) ? 'v1beta1' : 'v1';
}
