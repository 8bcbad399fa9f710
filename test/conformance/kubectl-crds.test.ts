/**
 * Custom resources through kubectl: the project's CRDs (crds/) and the quickstart, printer columns,
 * structural-schema validation with field paths, CEL rules, defaults, pruning, the status and scale
 * subresources, categories, and the cleanup of a CRD's objects when it goes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { eventually, json, ROOT, useCluster, type Obj } from './cluster.ts';

const c = useCluster('crds');

/** A CRD of the suite's own, cluster-wide: it is created and deleted by this file. */
const WIDGET_GROUP = 'conformance.shipway.dev';
const widgetCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `widgets.${WIDGET_GROUP}` },
  spec: {
    group: WIDGET_GROUP,
    scope: 'Namespaced',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wdg'], categories: ['conformance'] },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
        additionalPrinterColumns: [
          { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
          { name: 'Color', type: 'string', jsonPath: '.spec.color' },
          { name: 'Size', type: 'string', jsonPath: '.spec.size', priority: 1 },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['color'],
                'x-kubernetes-validations': [{ rule: 'self.minReplicas <= self.replicas', message: 'replicas must be at least minReplicas', fieldPath: '.replicas' }],
                properties: {
                  replicas: { type: 'integer', minimum: 0, default: 1 },
                  minReplicas: { type: 'integer', minimum: 0, default: 0 },
                  color: { type: 'string', enum: ['red', 'green', 'blue'] },
                  size: { type: 'string', default: 'medium' },
                  labels: { type: 'object', additionalProperties: { type: 'string' } },
                },
              },
              status: { type: 'object', properties: { replicas: { type: 'integer' }, selector: { type: 'string' }, phase: { type: 'string' } } },
            },
          },
        },
      },
    ],
  },
};

const widget = (name: string, spec: Obj) => JSON.stringify({ apiVersion: `${WIDGET_GROUP}/v1`, kind: 'Widget', metadata: { name }, spec });

/** The quickstart's manifests, moved into this file's namespace. */
function quickstart(ns: string, files: string[]): string {
  const docs: Obj[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(join(ROOT, 'examples/quickstart', file), 'utf8'))) {
      const object = doc.toJS() as Obj | null;
      if (!object || object.kind === 'Namespace') continue;
      object.metadata.namespace = ns;
      if (object.spec?.kubernetes?.namespace) object.spec.kubernetes.namespace = ns;
      docs.push(object);
    }
  }
  return docs.map((d) => stringify(d)).join('---\n');
}

beforeAll(async () => {
  await c.kubectlOk(['apply', '-f', join(ROOT, 'crds')]);
  await c.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(widgetCrd) });
  const crds = readdirSync(join(ROOT, 'crds')).map((f) => `crd/${f.replace(/\.yaml$/, '')}`);
  await c.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...crds, `crd/widgets.${WIDGET_GROUP}`], { timeoutMs: 70_000 });
});

afterAll(async () => {
  // Only the suite's own CRD goes: the project's CRDs may hold someone's objects on a real cluster.
  await c.cluster.kubectl(['delete', 'crd', `widgets.${WIDGET_GROUP}`, '--ignore-not-found', '--wait=false']);
});

describe('kubectl: the project CRDs', () => {
  it('serves the new kinds in discovery with short names and categories', async () => {
    const resources = await c.kubectlOk(['api-resources', '--api-group=shipway.dev', '--no-headers']);
    expect(resources).toMatch(/^targets\s+tgt\s+shipway\.dev\/v1alpha1\s+true\s+Target$/m);
    expect(resources).toMatch(/^releases\s+.*shipway\.dev\/v1alpha1\s+true\s+Release$/m);
    const established = json(await c.kubectlOk(['get', 'crd', 'targets.shipway.dev', '-o', 'json']));
    expect(established.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Established', status: 'True' }), expect.objectContaining({ type: 'NamesAccepted', status: 'True' })]));
    expect(established.status.acceptedNames.kind).toBe('Target');
  });

  it('applies the quickstart and prints the CRD printer columns', async () => {
    const out = await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: quickstart(c.ns, ['10-workloads.yaml', '20-targets.yaml', '30-pipeline.yaml', '40-release.yaml']) });
    expect(out).toMatch(/target\.shipway\.dev\/web-pre created/);
    expect(out).toMatch(/release\.shipway\.dev\/shop-1-1-0 created/);

    const targets = await c.kubectlOk(['get', 'targets', '-n', c.ns]);
    expect(targets.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+ENVIRONMENT\s+PHASE\s+AGE$/);
    expect(targets).toMatch(/^web-pre\s+kubernetes\s+pre\s+\d+s$/m);
    const wide = await c.kubectlOk(['get', 'tgt', 'web-prod', '-n', c.ns, '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+ENVIRONMENT\s+PHASE\s+AGENT\s+LAST SEEN\s+AGE$/);
    expect(wide).toMatch(/^web-prod\s+kubernetes\s+prod\s+\d+s$/m);

    const releases = await c.kubectlOk(['get', 'releases', '-n', c.ns]);
    expect(releases.split('\n')[0]).toMatch(/^NAME\s+PROJECT\s+VERSION\s+PHASE\s+ENVIRONMENT\s+PROGRESS\s+AGE$/);
    expect(releases).toMatch(/^shop-1-1-0\s+shop\s+1\.1\.0\s+\d+s$/m);

    // Category: `kubectl get shipway` lists every kind in it.
    const all = await c.kubectlOk(['get', 'shipway', '-n', c.ns, '-o', 'name']);
    expect(all.split('\n')).toEqual(expect.arrayContaining(['target.shipway.dev/web-pre', 'pipeline.shipway.dev/standard', 'release.shipway.dev/shop-1-1-0', 'releaseapp.shipway.dev/shop-1-1-0-web']));
  });

  it('applies schema defaults and rejects invalid objects with 422 and field paths', async () => {
    const target = json(await c.kubectlOk(['get', 'target', 'web-pre', '-n', c.ns, '-o', 'json']));
    expect(target.spec.priority).toBe(0);
    expect(target.spec.kubernetes.kind).toBe('Deployment');
    expect(target.metadata.generation).toBe(1);

    const bad = { apiVersion: 'shipway.dev/v1alpha1', kind: 'Target', metadata: { name: 'bad' }, spec: { type: 'docker', environment: 'Pre!' } };
    const result = await c.kubectl(['apply', '-n', c.ns, '-f', '-'], { input: JSON.stringify(bad) });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/The Target "bad" is invalid/);
    expect(result.stderr).toMatch(/spec\.environment: Invalid value: "Pre!": spec\.environment in body should match/);
    // A CEL rule with its fieldPath and reason.
    expect(result.stderr).toMatch(/spec\.agent: Required value: agent is required for docker, script and gitpull targets/);

    const enumBad = { ...bad, spec: { type: 'ftp', environment: 'pre' } };
    const enumResult = await c.kubectl(['create', '-n', c.ns, '-f', '-'], { input: JSON.stringify(enumBad) });
    expect(enumResult.stderr).toMatch(/spec\.type: Unsupported value: "ftp": supported values: "kubernetes", "docker", "script", "gitpull"/);
    expect((await c.kubectl(['get', 'target', 'bad', '-n', c.ns])).code).not.toBe(0);
  });

  it('refuses unknown fields with fieldValidation=Strict and prunes them otherwise', async () => {
    const target = { apiVersion: 'shipway.dev/v1alpha1', kind: 'Target', metadata: { name: 'pruned' }, spec: { type: 'kubernetes', environment: 'pre', kubernetes: { namespace: c.ns, name: 'web-pre' }, bogus: 'x' } };
    const strict = await c.kubectl(['apply', '-n', c.ns, '-f', '-'], { input: JSON.stringify(target) });
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toMatch(/unknown field "spec\.bogus"/);

    await c.kubectlOk(['apply', '--validate=false', '-n', c.ns, '-f', '-'], { input: JSON.stringify(target) });
    const stored = json(await c.kubectlOk(['get', 'target', 'pruned', '-n', c.ns, '-o', 'json']));
    expect(stored.spec.bogus).toBeUndefined();
    expect(stored.spec.environment).toBe('pre');
  });

  it('writes status only through the status subresource, without bumping generation', async () => {
    await c.kubectlOk(['patch', 'target', 'web-pre', '-n', c.ns, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Online"}}']);
    let target = json(await c.kubectlOk(['get', 'target', 'web-pre', '-n', c.ns, '-o', 'json']));
    expect(target.status.phase).toBe('Online');
    expect(target.metadata.generation).toBe(1);
    expect(await c.kubectlOk(['get', 'target', 'web-pre', '-n', c.ns, '--no-headers'])).toMatch(/^web-pre\s+kubernetes\s+pre\s+Online\s+\d+s$/m);

    // Through the main resource a status change is ignored; a spec change bumps generation.
    await c.kubectlOk(['patch', 'target', 'web-pre', '-n', c.ns, '--type=merge', '-p', '{"status":{"phase":"Offline"},"spec":{"priority":5}}']);
    target = json(await c.kubectlOk(['get', 'target', 'web-pre', '-n', c.ns, '-o', 'json']));
    expect(target.status.phase).toBe('Online');
    expect(target.spec.priority).toBe(5);
    expect(target.metadata.generation).toBe(2);

    // Metadata-only changes do not bump generation either.
    await c.kubectlOk(['label', 'target', 'web-pre', 'checked=yes', '-n', c.ns]);
    expect(json(await c.kubectlOk(['get', 'target', 'web-pre', '-n', c.ns, '-o', 'json'])).metadata.generation).toBe(2);
  });

  it('publishes the CRD schema in OpenAPI v3: kubectl explain reads it', async () => {
    const out = await c.kubectlOk(['explain', 'targets.spec.environment']);
    expect(out).toMatch(/^KIND:\s+Target$/m);
    expect(out).toMatch(/^FIELD:\s+environment <string>$/m);
    expect(out).toMatch(/Environment this target belongs to, e\.g\. pre or prod\./);
    const spec = await c.kubectlOk(['explain', 'releases.spec']);
    expect(spec).toMatch(/^\s+environments\s+<\[\]Object> -required-$/m);
  });

  it('refuses strategic merge patches of custom resources (415)', async () => {
    const result = await c.kubectl(['patch', 'target', 'web-pre', '-n', c.ns, '--type=strategic', '-p', '{"spec":{"priority":1}}']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/UnsupportedMediaType|the body of the request was in an unknown format/);
  });
});

describe('kubectl: a CRD with scale subresource, CEL rules and defaults', () => {
  it('creates, defaults, validates CEL rules and prints integer columns', async () => {
    await c.kubectlOk(['apply', '-n', c.ns, '-f', '-'], { input: widget('w1', { color: 'red' }) });
    const w1 = json(await c.kubectlOk(['get', 'widget', 'w1', '-n', c.ns, '-o', 'json']));
    expect(w1.spec).toEqual({ color: 'red', replicas: 1, minReplicas: 0, size: 'medium' });
    const table = await c.kubectlOk(['get', 'wdg', '-n', c.ns]);
    expect(table).toMatch(/^NAME\s+REPLICAS\s+COLOR\s+AGE$/m);
    expect(table).toMatch(/^w1\s+1\s+red\s+\d+s$/m);
    expect(await c.kubectlOk(['get', 'wdg', 'w1', '-n', c.ns, '-o', 'wide'])).toMatch(/^w1\s+1\s+red\s+medium\s+\d+s$/m);

    const cel = await c.kubectl(['apply', '-n', c.ns, '-f', '-'], { input: widget('w2', { color: 'blue', replicas: 1, minReplicas: 3 }) });
    expect(cel.code).not.toBe(0);
    expect(cel.stderr).toMatch(/spec\.replicas: Invalid value: "object": replicas must be at least minReplicas/);
    const missing = await c.kubectl(['apply', '-n', c.ns, '-f', '-'], { input: widget('w3', { replicas: 2 }) });
    expect(missing.stderr).toMatch(/spec\.color: Required value/);
  });

  it('scales through the scale subresource', async () => {
    await c.kubectlOk(['scale', 'widget', 'w1', '--replicas=3', '-n', c.ns]);
    const w1 = json(await c.kubectlOk(['get', 'widget', 'w1', '-n', c.ns, '-o', 'json']));
    expect(w1.spec.replicas).toBe(3);
    expect(w1.metadata.generation).toBe(2);
    const scale = json(await c.kubectlOk(['get', 'widget', 'w1', '-n', c.ns, '--subresource=scale', '-o', 'json']));
    expect(scale).toMatchObject({ apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 3 } });

    const conditional = await c.kubectl(['scale', 'widget', 'w1', '--replicas=4', '--current-replicas=2', '-n', c.ns]);
    expect(conditional.code).not.toBe(0);
    expect(json(await c.kubectlOk(['get', 'widget', 'w1', '-n', c.ns, '-o', 'json'])).spec.replicas).toBe(3);
  });

  it('deleting the CRD deletes its objects', async () => {
    const crd = { ...widgetCrd, metadata: { name: `gadgets.${WIDGET_GROUP}` }, spec: { ...widgetCrd.spec, names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget' } } };
    await c.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(crd) });
    await c.kubectlOk(['wait', '--for=condition=Established', `crd/gadgets.${WIDGET_GROUP}`, '--timeout=60s'], { timeoutMs: 70_000 });
    const gadget = JSON.stringify({ apiVersion: `${WIDGET_GROUP}/v1`, kind: 'Gadget', metadata: { name: 'g1' }, spec: { color: 'green' } });
    await eventually(async () => (await c.kubectl(['apply', '-n', c.ns, '-f', '-'], { input: gadget })).code === 0, 'the Gadget kind to be served');
    expect(await c.kubectlOk(['get', 'gadgets', '-n', c.ns, '-o', 'name'])).toMatch(/gadget\.conformance\.shipway\.dev\/g1/);
    await c.kubectlOk(['delete', 'crd', `gadgets.${WIDGET_GROUP}`, '--timeout=60s'], { timeoutMs: 70_000 });
    await eventually(async () => {
      const r = await c.kubectl(['get', 'gadgets', '-n', c.ns]);
      // kubectl's discovery cache may still name the kind; the server no longer serves it either way.
      return r.code !== 0 && /the server doesn't have a resource type "gadgets"|the server could not find the requested resource/.test(r.stderr);
    }, 'the Gadget kind to go');
  });
});
