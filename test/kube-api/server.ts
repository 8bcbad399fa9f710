/**
 * The HTTP(S) face of the emulator: discovery, OpenAPI, CRUD, subresources, lists with paging, watches
 * with bookmarks and 410 Expired, Tables and Status errors — what kubectl, helm and client-node speak.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DeleteOptions, FieldValidation, KubeApi, Subresource, WriteOptions } from './api.ts';
import { aggregatedContentType, aggregatedDiscovery, aggregatedDiscoveryVersion, apiGroup, apiGroupList, apiResourceList, apiVersions, groupsOf } from './discovery.ts';
import { ApiError, badRequest, invalid, methodNotAllowed, pathNotFound } from './errors.ts';
import { decodeContinue, encodeContinue, matcher, objectKey } from './list-options.ts';
import { openApiDocument, openApiIndex, openApiV2 } from './openapi.ts';
import { managerFromUserAgent, parsePatchType } from './patch/index.ts';
import { decodeBody, parseResourcePath, readBody, readBodyBytes, wantsTable, type ResourcePath } from './request.ts';
import { groupVersion, type ResourceType } from './resource-types.ts';
import type { KubeObject } from './store.ts';
import { renderTable } from './tables.ts';
import { WatchStream } from './watch.ts';

export const SERVER_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-shipway-emulator', gitCommit: '0000000000000000000000000000000000000000', gitTreeState: 'clean', buildDate: '2026-01-01T00:00:00Z', goVersion: 'go1.23.0', compiler: 'gc', platform: 'linux/amd64', emulationMajor: '1', emulationMinor: '32', minCompatibilityMajor: '1', minCompatibilityMinor: '31' };

export interface HttpOptions {
  tls?: { key: string; cert: string; ca?: string };
  watch?: { bookmarkIntervalMs?: number; defaultTimeoutSeconds?: number };
}

export class KubeHttpServer {
  readonly server: Server;
  private readonly watches = new Set<WatchStream>();

  constructor(
    private readonly api: KubeApi,
    private readonly options: HttpOptions = {},
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error) => this.fail(res, error));
    };
    this.server = options.tls
      ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert, ...(options.tls.ca ? { ca: options.tls.ca, requestCert: true, rejectUnauthorized: false } : {}) }, handler)
      : createHttpServer(handler);
    this.server.keepAliveTimeout = 60_000;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const address = this.server.address() as AddressInfo;
    const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${this.options.tls ? 'https' : 'http'}://${hostPart}:${address.port}`;
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.close();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const accept = req.headers.accept;
    if (req.method === 'GET') {
      if (path === '/version') return this.json(res, 200, SERVER_VERSION);
      if (['/healthz', '/readyz', '/livez'].includes(path)) return this.text(res, 200, 'ok');
      if (path === '/api' || path === '/apis') {
        const aggregated = aggregatedDiscoveryVersion(accept);
        if (aggregated) return this.json(res, 200, aggregatedDiscovery(this.api.types.all(), path === '/api', aggregated), aggregatedContentType(aggregated));
        return this.json(res, 200, path === '/api' ? apiVersions(req.headers.host ?? '127.0.0.1') : apiGroupList(this.api.types.all()));
      }
      if (path === '/openapi/v2') {
        const doc = openApiV2(SERVER_VERSION.gitVersion, !accept || accept.includes('protobuf') || !accept.includes('json'));
        res.writeHead(200, { 'Content-Type': doc.contentType, 'Content-Length': Buffer.byteLength(doc.body), 'Cache-Control': 'no-cache, private' });
        res.end(doc.body);
        return;
      }
      if (path === '/openapi/v3') return this.json(res, 200, openApiIndex(this.api.types.all(), SERVER_VERSION.gitVersion));
      const openapi = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
      if (openapi) {
        const [group, version] = openapi[1] ? ['', openapi[1]] : [openapi[2]!, openapi[3]!];
        if (!this.api.types.all().some((t) => t.group === group && t.versions.includes(version))) throw pathNotFound();
        return this.json(res, 200, openApiDocument(this.api.types.all(), group, version, SERVER_VERSION.gitVersion));
      }
      const groupDoc = /^\/apis\/([^/]+)$/.exec(path);
      if (groupDoc) {
        const group = groupsOf(this.api.types.all()).find((g) => g.group === groupDoc[1]);
        if (!group) throw pathNotFound();
        return this.json(res, 200, apiGroup(group));
      }
      const gv = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
      if (gv) {
        const [group, version] = gv[1] ? ['', gv[1]] : [gv[2]!, gv[3]!];
        if (!this.api.types.all().some((t) => t.group === group && t.versions.includes(version))) throw pathNotFound();
        return this.json(res, 200, apiResourceList(this.api.types.all(), group, version));
      }
    }
    const target = parseResourcePath(path, (g, v, p) => Boolean(this.api.types.resolve(g, v, p)?.namespaced));
    if (!target) throw pathNotFound();
    const type = this.api.types.resolve(target.group, target.version, target.plural);
    if (!type || target.subresource === '\u0000') throw pathNotFound();
    if (target.namespace !== undefined && !type.namespaced) throw pathNotFound();
    return this.serveResource(req, res, url, type, target);
  }

  private async serveResource(req: IncomingMessage, res: ServerResponse, url: URL, type: ResourceType, target: ResourcePath): Promise<void> {
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const sub = target.subresource;
    if (sub !== undefined && !(sub === 'status' && type.status) && !(sub === 'scale' && type.scale) && !(sub === 'finalize' && type.kind === 'Namespace')) throw pathNotFound();
    const subresource: Subresource = sub === 'status' || sub === 'scale' ? sub : undefined;
    const warnings: string[] = [];
    const write: WriteOptions = {
      dryRun: q.getAll('dryRun').includes('All'),
      // Every write is recorded in managedFields; without fieldManager, under the User-Agent's product name.
      ...(q.get('fieldManager') || req.headers['user-agent'] ? { fieldManager: q.get('fieldManager') || managerFromUserAgent(req.headers['user-agent']) } : {}),
      fieldValidation: (q.get('fieldValidation') as FieldValidation | null) ?? 'Warn',
      warnings,
    };
    const version = target.version;
    const send = (code: number, object: KubeObject) => {
      if (warnings.length > 0) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
      this.json(res, code, this.present(type, version, object));
    };

    if (target.name === undefined) {
      if (method === 'GET') {
        if (q.get('watch') === 'true' || q.get('watch') === '1') return this.watch(req, res, type, target, q);
        return this.list(req, res, type, target, q);
      }
      if (method === 'POST') {
        const body = decodeBody(await readBodyBytes(req), req.headers['content-type']);
        const created = this.api.create(type, target.namespace, body, write);
        return send(type.createOnly ? 201 : write.dryRun ? 200 : 201, created);
      }
      if (method === 'DELETE') {
        const m = matcher(type, type.namespaced ? target.namespace : undefined, q.get('labelSelector'), q.get('fieldSelector'));
        const victims = this.api.list(type, target.namespace).filter(m).map((o) => structuredClone(o));
        const options = await this.deleteOptions(req, q, write);
        const items = victims.map((o) => this.api.delete(type, o.metadata.namespace, o.metadata.name, options).object);
        return this.json(res, 200, { kind: type.listKind, apiVersion: groupVersion(type.group, version), metadata: { resourceVersion: String(this.api.store.resourceVersion) }, items: items.map((o) => this.present(type, version, o)) });
      }
      throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }

    const name = target.name;
    if (method === 'GET') {
      const object = subresource === 'scale' ? this.api.getScale(type, target.namespace, name) : this.api.get(type, target.namespace, name);
      if (subresource !== 'scale' && wantsTable(req.headers.accept)) return this.json(res, 200, renderTable(type, version, [this.present(type, version, object)], { includeObject: q.get('includeObject'), resourceVersion: object.metadata.resourceVersion, now: this.api.clock() }));
      return this.json(res, 200, subresource === 'scale' ? object : this.present(type, version, object));
    }
    if (method === 'PUT') {
      const body = decodeBody(await readBodyBytes(req), req.headers['content-type'] ?? 'application/json');
      // namespaces/{name}/finalize writes spec.finalizers, which a plain update keeps as stored.
      if (sub === 'finalize') return send(200, this.finalizeNamespace(type, name, body));
      const updated = this.api.update(type, target.namespace, name, body, subresource, write);
      return subresource === 'scale' ? this.json(res, 200, updated) : send(200, updated);
    }
    if (method === 'PATCH') {
      const patchType = parsePatchType(req.headers['content-type']);
      const body = await readBody(req);
      const force = q.get('force') === 'true';
      if (patchType === 'application/apply-patch+yaml' && !q.get('fieldManager')) {
        // 422, as the real server's PatchOptions validation (the User-Agent default does not count for apply).
        throw invalid({ group: 'meta.k8s.io', plural: 'patchoptions', kind: 'PatchOptions' }, '', [{ field: 'fieldManager', reason: 'FieldValueRequired', message: 'Required value: is required for apply patch' }]);
      }
      const patched = this.api.patch(type, target.namespace, name, patchType, body, subresource, { ...write, force });
      return subresource === 'scale' ? this.json(res, 200, patched) : send(200, patched);
    }
    if (method === 'DELETE') {
      const options = await this.deleteOptions(req, q, write);
      const { object, deleted } = this.api.delete(type, target.namespace, name, options);
      return send(deleted ? 200 : 202, object);
    }
    throw methodNotAllowed('the server does not allow this method on the requested resource');
  }

  private finalizeNamespace(type: ResourceType, name: string, body: KubeObject): KubeObject {
    const current = this.api.get(type, undefined, name);
    const next = { ...current, spec: { ...(current.spec ?? {}), finalizers: body.spec?.finalizers ?? [] } };
    return this.api.update(type, undefined, name, next, undefined, {});
  }

  private async deleteOptions(req: IncomingMessage, q: URLSearchParams, write: WriteOptions): Promise<DeleteOptions> {
    const raw = await readBodyBytes(req);
    const body = raw.toString('utf8').trim() ? decodeBody(raw, req.headers['content-type']) : {};
    const policy = (body.propagationPolicy ?? q.get('propagationPolicy') ?? (body.orphanDependents === true || q.get('orphanDependents') === 'true' ? 'Orphan' : undefined)) as DeleteOptions['propagationPolicy'];
    if (policy && !['Background', 'Foreground', 'Orphan'].includes(policy)) throw badRequest(`unsupported propagationPolicy "${policy}"`);
    const dryRun = write.dryRun || (Array.isArray(body.dryRun) && body.dryRun.includes('All'));
    return { ...write, dryRun, ...(policy ? { propagationPolicy: policy } : {}), ...(body.preconditions ? { preconditions: body.preconditions } : {}) };
  }

  private list(req: IncomingMessage, res: ServerResponse, type: ResourceType, target: ResourcePath, q: URLSearchParams): void {
    const namespace = type.namespaced ? target.namespace : undefined;
    const m = matcher(type, namespace, q.get('labelSelector'), q.get('fieldSelector'));
    let items = this.api.list(type, namespace).filter(m);
    const rv = this.api.store.resourceVersion;
    const token = q.get('continue');
    if (token) {
      const { start } = decodeContinue(token);
      items = items.filter((o) => objectKey(o) > start);
    }
    const limit = Number(q.get('limit') ?? 0);
    let next: string | undefined;
    let remaining: number | undefined;
    if (limit > 0 && items.length > limit) {
      remaining = items.length - limit;
      items = items.slice(0, limit);
      next = encodeContinue(objectKey(items[items.length - 1]!), rv);
    }
    const presented = items.map((o) => this.present(type, target.version, o));
    const metadata = { resourceVersion: String(rv), ...(next ? { continue: next, remainingItemCount: remaining } : {}) };
    if (wantsTable(req.headers.accept)) {
      return this.json(res, 200, renderTable(type, target.version, presented, { includeObject: q.get('includeObject'), resourceVersion: String(rv), continue: next, now: this.api.clock() }));
    }
    this.json(res, 200, { kind: type.listKind, apiVersion: groupVersion(type.group, target.version), metadata, items: presented });
  }

  private watch(req: IncomingMessage, res: ServerResponse, type: ResourceType, target: ResourcePath, q: URLSearchParams): void {
    const namespace = type.namespaced ? target.namespace : undefined;
    const m = matcher(type, namespace, q.get('labelSelector'), q.get('fieldSelector'));
    const table = wantsTable(req.headers.accept);
    const present = (o: KubeObject) => {
      const object = this.present(type, target.version, o);
      return table ? renderTable(type, target.version, [object], { includeObject: q.get('includeObject'), resourceVersion: object.metadata.resourceVersion, now: this.api.clock() }) : object;
    };
    const timeout = Number(q.get('timeoutSeconds') ?? 0) || this.options.watch?.defaultTimeoutSeconds || 1800;
    const stream = new WatchStream(res, {
      store: this.api.store,
      resource: `${type.group}/${type.plural}`,
      matches: m,
      present,
      resourceVersion: q.get('resourceVersion') ?? '',
      sendInitialEvents: q.get('sendInitialEvents') === 'true',
      bookmarks: q.get('allowWatchBookmarks') === 'true',
      bookmarkIntervalMs: this.options.watch?.bookmarkIntervalMs ?? 15_000,
      bookmarkObject: (rv: string) => ({ kind: type.kind, apiVersion: groupVersion(type.group, target.version), metadata: { resourceVersion: rv } }),
      initialObjects: () => this.api.list(type, namespace).filter(m),
      timeoutMs: timeout * 1000,
    });
    this.watches.add(stream);
    stream.onClose(() => this.watches.delete(stream));
    stream.start();
  }

  /** The object as served at `version`: CRDs may serve several versions of one stored object. */
  private present(type: ResourceType, version: string, object: KubeObject): KubeObject {
    if (type.createOnly) return object;
    return { ...object, apiVersion: groupVersion(type.group, version), kind: type.kind };
  }

  private json(res: ServerResponse, code: number, body: unknown, contentType = 'application/json'): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-cache, private' });
    res.end(text);
  }

  private text(res: ServerResponse, code: number, body: string): void {
    res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(body);
  }

  private fail(res: ServerResponse, error: unknown): void {
    const apiError = error instanceof ApiError ? error : new ApiError(500, 'InternalError', `Internal error occurred: ${(error as Error).message}`);
    if (!(error instanceof ApiError)) console.error('[kube-api] internal error:', error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    this.json(res, apiError.code, apiError.toStatus());
  }
}

