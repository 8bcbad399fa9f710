/**
 * The Argo CD health checks of argocd/resource_customizations/shipway.dev/<Kind>/health.lua, run by the real
 * Lua 5.1 interpreter in Argo CD's sandbox for configured scripts (test/argocd/lua-health.ts):
 * every fixture of the kind's health_test.yaml (Argo CD's own layout and format) gives the listed status and
 * message; the edge cases (no status, stale generation, unknown phase) and every phase the API defines are
 * table-driven; and argocd/argocd-cm.yaml embeds exactly these scripts.
 * Skipped without lua5.1 unless REQUIRE_LUA=1 (CI sets it), which makes a missing interpreter a failure.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RELEASE_PHASES } from '../../operator/src/api/release.ts';
import { RELEASE_APP_PHASES } from '../../operator/src/api/release-app.ts';
import { TARGET_PHASES } from '../../operator/src/api/target.ts';
import { ARGOCD_CM_PATH, HEALTH_CHECK_KINDS, healthKey, healthScriptPath, renderArgocdCm } from '../../scripts/generate-argocd-cm.ts';
import { luaAvailable, luaRequired, MISSING_LUA_MESSAGE, runHealthScript, type HealthStatus } from './lua-health.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Kubernetes objects as parsed from YAML
type Obj = Record<string, any>;

interface HealthTest {
  healthStatus: HealthStatus;
  inputPath: string;
}

const kindDir = (kind: string) => dirname(healthScriptPath(kind));
const healthTests = (kind: string): HealthTest[] => (parse(readFileSync(join(kindDir(kind), 'health_test.yaml'), 'utf8')) as { tests: HealthTest[] }).tests;
const fixture = (kind: string, name: string): Obj => parse(readFileSync(join(kindDir(kind), 'testdata', name), 'utf8')) as Obj;
const health = (kind: string, obj: unknown) => runHealthScript(healthScriptPath(kind), obj);
const clone = <T>(value: T): T => structuredClone(value);

const skip = !luaAvailable() && !luaRequired();

(skip ? describe.skip : describe)('Argo CD health checks of Shipway resources (lua5.1)', () => {
  beforeAll(() => {
    if (!luaAvailable()) throw new Error(MISSING_LUA_MESSAGE);
  });

  describe.each(HEALTH_CHECK_KINDS)('%s', (kind) => {
    it.each(healthTests(kind).map((t) => [t.inputPath, t] as const))('%s gives the status and message health_test.yaml lists', (_path, test) => {
      const obj = parse(readFileSync(join(kindDir(kind), test.inputPath), 'utf8'));
      expect(health(kind, obj)).toEqual(test.healthStatus);
    });

    it('lists every testdata file in health_test.yaml, named after the status it expects', () => {
      const listed = healthTests(kind).map((t) => t.inputPath).sort();
      const files = readdirSync(join(kindDir(kind), 'testdata')).map((f) => `testdata/${f}`).sort();
      expect(listed).toEqual(files);
      for (const t of healthTests(kind)) expect(t.inputPath.startsWith(`testdata/${t.healthStatus.status.toLowerCase()}_`), t.inputPath).toBe(true);
    });
  });

  // One healthy object per kind, to break in the edge cases.
  const healthy: Record<(typeof HEALTH_CHECK_KINDS)[number], () => Obj> = {
    Release: () => fixture('Release', 'healthy_succeeded.yaml'),
    ReleaseApp: () => fixture('ReleaseApp', 'healthy_deployed.yaml'),
    Target: () => fixture('Target', 'healthy_agentOnline.yaml'),
  };

  describe.each(HEALTH_CHECK_KINDS)('%s edge cases', (kind) => {
    const cases: [string, (o: Obj) => void, HealthStatus | ((h: HealthStatus) => void)][] = [
      ['no status at all', (o) => delete o.status, { status: 'Progressing', message: `Waiting for the operator to reconcile the ${kind}` }],
      ['an empty status', (o) => (o.status = {}), { status: 'Progressing', message: `Waiting for the operator to reconcile the ${kind}` }],
      ['a null status (JSON null decodes to nil)', (o) => (o.status = null), { status: 'Progressing', message: `Waiting for the operator to reconcile the ${kind}` }],
      [
        'a status of an older generation',
        (o) => (o.metadata.generation = 5, o.status.observedGeneration = 4),
        { status: 'Progressing', message: 'Waiting for the operator to observe generation 5 (status is of generation 4)' },
      ],
      [
        'only the Ready condition saying which generation it saw',
        (o) => {
          o.metadata.generation = 3;
          delete o.status.observedGeneration;
          for (const c of o.status.conditions) c.observedGeneration = 2;
        },
        { status: 'Progressing', message: 'Waiting for the operator to observe generation 3 (status is of generation 2)' },
      ],
      ['a status of the current generation', (o) => (o.metadata.generation = 7, o.status.observedGeneration = 7), (h) => expect(h.status).toBe('Healthy')],
      ['no metadata.generation (nothing to compare)', (o) => delete o.metadata.generation, (h) => expect(h.status).toBe('Healthy')],
      [
        'a phase this script does not know',
        (o) => (o.status.phase = 'Exploded'),
        (h) => {
          expect(h.status).toBe('Unknown');
          expect(h.message).toContain(`Unknown ${kind} phase Exploded`);
        },
      ],
    ];
    it.each(cases)('%s', (_name, mutate, expected) => {
      const obj = healthy[kind]();
      mutate(obj);
      const result = health(kind, obj);
      if (typeof expected === 'function') expected(result);
      else expect(result).toEqual(expected);
    });
  });

  // Every phase the API defines has a deliberate health: a phase added to the API fails here until the
  // script (and these tables) say what it means.
  const RELEASE_HEALTH: Record<(typeof RELEASE_PHASES)[number], string> = {
    Pending: 'Progressing', Scheduled: 'Progressing', Waiting: 'Suspended', Approving: 'Suspended', Deploying: 'Progressing',
    Verifying: 'Progressing', Paused: 'Suspended', Succeeded: 'Healthy', Failed: 'Degraded', Cancelled: 'Degraded', RolledBack: 'Degraded',
  };
  const RELEASE_APP_HEALTH: Record<(typeof RELEASE_APP_PHASES)[number], string> = {
    Pending: 'Progressing', Waiting: 'Suspended', Deploying: 'Progressing', Deployed: 'Healthy', Failed: 'Degraded', RolledBack: 'Degraded', Uninstalled: 'Healthy',
  };
  const AGENT_TARGET_HEALTH: Record<(typeof TARGET_PHASES)[number], string> = { Online: 'Healthy', Offline: 'Degraded', Unknown: 'Progressing' };

  it.each(RELEASE_PHASES.map((p) => [p, RELEASE_HEALTH[p]]))('a Release in phase %s is %s, with the phase, environment and message in the message', (phase, expected) => {
    const obj = fixture('Release', 'progressing_deploying.yaml');
    obj.status.phase = phase;
    obj.status.message = `the operator's message for ${phase}`;
    expect(health('Release', obj)).toEqual({ status: expected, message: `${phase} in pre: the operator's message for ${phase}` });
  });

  it.each(RELEASE_APP_PHASES.map((p) => [p, RELEASE_APP_HEALTH[p]]))('a ReleaseApp in phase %s is %s', (phase, expected) => {
    const obj = fixture('ReleaseApp', 'healthy_deployed.yaml');
    obj.status.phase = phase;
    expect(health('ReleaseApp', obj).status).toBe(expected);
  });

  it.each(TARGET_PHASES.map((p) => [p, AGENT_TARGET_HEALTH[p]]))('an agent Target in phase %s is %s', (phase, expected) => {
    const obj = fixture('Target', 'healthy_agentOnline.yaml');
    obj.status.phase = phase;
    expect(health('Target', obj).status).toBe(expected);
  });

  it('judges a Kubernetes Target by its Ready condition, not by the phase', () => {
    const obj = fixture('Target', 'healthy_kubernetesWorkloadFound.yaml');
    obj.status.phase = 'Offline';
    expect(health('Target', obj).status).toBe('Healthy');
    obj.status.conditions[0].status = 'Unknown';
    expect(health('Target', obj).status).toBe('Progressing');
    obj.status.conditions = [];
    expect(health('Target', obj)).toEqual({ status: 'Progressing', message: 'Waiting for the operator to find the workload' });
  });

  it('calls a Verifying Release Suspended only at a promote gate', () => {
    const gated = fixture('Release', 'suspended_canaryPromoteGate.yaml');
    expect(health('Release', gated).status).toBe('Suspended');
    // The gate of another environment than the current one does not hold this one.
    const elsewhere = clone(gated);
    elsewhere.status.currentEnvironment = 'pre';
    expect(health('Release', elsewhere).status).toBe('Progressing');
    const verifying = clone(gated);
    verifying.status.environments[0].stepState = 'Verify';
    expect(health('Release', verifying).status).toBe('Progressing');
  });

  it('lets a Stalled condition win over the phase', () => {
    const obj = fixture('Release', 'healthy_succeeded.yaml');
    const stalled = obj.status.conditions.find((c: Obj) => c.type === 'Stalled');
    Object.assign(stalled, { status: 'True', reason: 'InvalidSpec', message: 'environment prod: no targets match' });
    expect(health('Release', obj)).toEqual({ status: 'Degraded', message: 'Stalled (InvalidSpec): environment prod: no targets match' });
  });

  it('passes messages through byte for byte: quotes, backslashes, newlines and non-ASCII text', () => {
    const message = 'Bereitstellung für "web" fehlgeschlagen: C:\\tmp\nzweite Zeile ✔';
    const obj = fixture('Release', 'degraded_failed.yaml');
    obj.status.message = message;
    expect(health('Release', obj)).toEqual({ status: 'Degraded', message: `Failed in pre: ${message}` });
  });

  describe('the sandbox of the harness refuses what Argo CD refuses a configured script', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'shipway-lua-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    // If these ran, a health check using them would pass here and fail in Argo CD.
    it.each([
      ['a string method', 'return { status = ("healthy"):upper(), message = "" }'],
      ['the string library', 'return { status = string.format("%s", "Healthy"), message = "" }'],
      ['the os library', 'return { status = "Healthy", message = tostring(os.time()) }'],
      ['the io library', 'io.write("x") return { status = "Healthy", message = "" }'],
      ['a result without a message', 'return { status = "Healthy" }'],
    ])('%s', (name, script) => {
      const path = join(dir, `${name.replace(/\W+/g, '-')}.lua`);
      writeFileSync(path, `${script}\n`);
      expect(() => runHealthScript(path, {})).toThrow(/lua5\.1 .* exited/);
    });
  });

  describe('argocd/argocd-cm.yaml', () => {
    it('is what scripts/generate-argocd-cm.ts writes from the current Lua files (run it after editing them)', async () => {
      expect(readFileSync(ARGOCD_CM_PATH, 'utf8')).toBe(await renderArgocdCm());
    });

    it('holds each health.lua byte for byte under resource.customizations.health.shipway.dev_<Kind>', () => {
      const cm = parse(readFileSync(ARGOCD_CM_PATH, 'utf8')) as Obj;
      expect(cm).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cm', namespace: 'argocd' } });
      expect(Object.keys(cm.data).sort()).toEqual(HEALTH_CHECK_KINDS.map(healthKey).sort());
      for (const kind of HEALTH_CHECK_KINDS) expect(cm.data[healthKey(kind)], kind).toBe(readFileSync(healthScriptPath(kind), 'utf8'));
    });
  });
});
