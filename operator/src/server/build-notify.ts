/**
 * `POST /api/v1/builds/notify`: a CI build reports the image tags it produced; every ReleaseApp of those apps
 * in a Release that is still active gets the annotations `shipway.dev/new-tag` and `shipway.dev/build`, the
 * same ones a Drone step may write itself with kubectl. The ReleaseApp controller shows them in status.
 *
 * Authenticated by a shared secret, either as `Authorization: Bearer <secret>` or as an HMAC-SHA256 of the
 * raw body in `X-Shipway-Signature: sha256=<hex>` (so the secret never travels). Everything the caller gets
 * wrong is answered with a reason: 401 (credentials), 400 (the body, naming the field), 202 (a build that
 * did not succeed: accepted and ignored).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import { BUILD_ANNOTATION, BuildNotification, NEW_TAG_ANNOTATION, SUCCESSFUL_BUILD } from '../api/build-notify.ts';
import { describeAjvError } from '../validation/messages.ts';
import { fieldPath } from '../validation/issue.ts';
import { errorSegments, valueAt } from '../validation/ajv-paths.ts';
import type { HttpAnswer, HttpRequest } from './http-server.ts';

export const SIGNATURE_HEADER = 'x-shipway-signature';

/** A ReleaseApp the notification may annotate. */
export interface NotifiedApp {
  namespace: string;
  name: string;
  release: string;
  annotations: Record<string, string>;
}

export interface BuildNotifyOptions {
  /** The shared secret; undefined leaves the endpoint refusing every call (503). */
  secret(): string | undefined;
  /** The ReleaseApps of `app` whose Release is still active. */
  activeReleaseApps(app: string): NotifiedApp[];
  annotate(app: NotifiedApp, annotations: Record<string, string>): Promise<void>;
  log(line: string): void;
  /** Counts outcomes for /metrics. */
  count?(result: 'annotated' | 'ignored' | 'unauthorized' | 'invalid' | 'failed'): void;
}

let validator: ValidateFunction | undefined;
function validate(value: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, strict: true }).compile(BuildNotification);
  if (validator(value)) return [];
  const problems = (validator.errors ?? []).map((error) => {
    const segments = errorSegments(error);
    return `${fieldPath(segments) || 'body'}: ${describeAjvError(error, valueAt(value, segments))}`;
  });
  return [...new Set(problems)].slice(0, 5);
}

const digest = (text: string | Buffer) => createHash('sha256').update(text).digest();
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function authenticate(request: HttpRequest, secret: string): string | undefined {
  const signature = request.headers[SIGNATURE_HEADER];
  const authorization = request.headers.authorization;
  if (typeof signature === 'string') {
    const match = /^sha256=([0-9a-f]{64})$/i.exec(signature.trim());
    if (!match) return `${SIGNATURE_HEADER} must be sha256=<64 hex digits>, the HMAC-SHA256 of the body with the shared secret`;
    const expected = createHmac('sha256', secret).update(request.body).digest();
    return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex')) ? undefined : `${SIGNATURE_HEADER} does not match the body (wrong secret, or the body changed on the way)`;
  }
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) return 'Authorization must be "Bearer <secret>"';
    return sameSecret(match[1]!, secret) ? undefined : 'the bearer secret is not the one configured';
  }
  return `no credentials: send "Authorization: Bearer <secret>" or "${SIGNATURE_HEADER}: sha256=<HMAC-SHA256 of the body>"`;
}

export async function handleBuildNotify(request: HttpRequest, o: BuildNotifyOptions): Promise<HttpAnswer> {
  const secret = o.secret();
  if (!secret) return { status: 503, body: { error: 'the build webhook is not configured: start the operator with --webhook-secret-file or SHIPWAY_WEBHOOK_SECRET' } };
  const refused = authenticate(request, secret);
  if (refused) {
    o.count?.('unauthorized');
    return { status: 401, body: { error: refused }, headers: { 'www-authenticate': 'Bearer realm="shipway"' } };
  }
  let payload: unknown;
  try {
    payload = JSON.parse(request.body.toString('utf8'));
  } catch (error) {
    o.count?.('invalid');
    return { status: 400, body: { error: `the body is not JSON: ${(error as Error).message}` } };
  }
  const problems = validate(payload);
  if (problems.length > 0) {
    o.count?.('invalid');
    return { status: 400, body: { error: `invalid build notification: ${problems.join('; ')}`, problems } };
  }
  const build = payload as BuildNotification;
  const buildNumber = String(build.build_number);
  if (build.build_status !== SUCCESSFUL_BUILD) {
    o.count?.('ignored');
    return { status: 202, body: { build: buildNumber, ignored: true, reason: `build ${buildNumber} is ${build.build_status}: only successful builds count` } };
  }
  const annotated: { namespace: string; name: string; app: string; tag: string }[] = [];
  const unchanged: typeof annotated = [];
  const failed: (typeof annotated[number] & { error: string })[] = [];
  const noActiveRelease: string[] = [];
  for (const { name: app, image_tag: tag } of build.apps) {
    const targets = o.activeReleaseApps(app);
    if (targets.length === 0) noActiveRelease.push(app);
    for (const target of targets) {
      const entry = { namespace: target.namespace, name: target.name, app, tag };
      if (target.annotations[NEW_TAG_ANNOTATION] === tag && target.annotations[BUILD_ANNOTATION] === buildNumber) {
        unchanged.push(entry);
        continue;
      }
      try {
        await o.annotate(target, { [NEW_TAG_ANNOTATION]: tag, [BUILD_ANNOTATION]: buildNumber });
        annotated.push(entry);
      } catch (error) {
        failed.push({ ...entry, error: (error as Error).message });
      }
    }
  }
  o.log(`build ${buildNumber}: new tags ${build.apps.map((a) => `${a.name}:${a.image_tag}`).join(', ')}; ${annotated.length} ReleaseApp(s) annotated${failed.length ? `, ${failed.length} failed` : ''}`);
  o.count?.(failed.length > 0 ? 'failed' : 'annotated');
  const body = { build: buildNumber, annotated, unchanged, ...(noActiveRelease.length ? { noActiveRelease } : {}), ...(failed.length ? { failed } : {}) };
  // A partial failure is a server error: the CI step fails and can be re-run (annotating again is harmless).
  return { status: failed.length > 0 ? 500 : 200, body };
}
