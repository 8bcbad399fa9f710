import { readdirSync, readFileSync } from 'node:fs';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderCrdFiles } from '../../operator/src/api/crd.ts';
import { KINDS } from '../../operator/src/api/kinds.ts';
import { renderApiReference } from '../../operator/src/api/reference-doc.ts';

type Schema = Record<string, unknown>;
const crdDir = new URL('../../crds/', import.meta.url);
const onDisk = new Map(readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).map((f) => [f, readFileSync(new URL(f, crdDir), 'utf8')]));
const crds = [...onDisk.values()].map((text) => parse(text) as Schema);

function openApi(crd: Schema): Schema {
  const spec = crd.spec as { versions: { schema: { openAPIV3Schema: Schema } }[] };
  return spec.versions[0]!.schema.openAPIV3Schema;
}

/** Every schema node with the path that leads to it, skipping the free-form metadata at the root. */
function* nodes(schema: Schema, path = ''): Generator<[string, Schema]> {
  yield [path, schema];
  for (const [name, sub] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
    if (path === '' && name === 'metadata') continue;
    yield* nodes(sub, `${path}.${name}`);
  }
  if (schema.items) yield* nodes(schema.items as Schema, `${path}[]`);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') yield* nodes(schema.additionalProperties as Schema, `${path}{}`);
}

describe('crds/', () => {
  it('is what `make crds` generates from operator/src/api (run `make crds` after changing a schema)', () => {
    const expected = renderCrdFiles(KINDS, (value) => stringify(value, { lineWidth: 0 }));
    expect([...onDisk.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [name, text] of expected) expect(onDisk.get(name), name).toBe(text);
  });

  it('docs/api-reference.md is what `make crds` generates', () => {
    expect(readFileSync(new URL('../../docs/api-reference.md', import.meta.url), 'utf8')).toBe(renderApiReference(KINDS));
  });

  it.each(crds.map((c) => [(c.metadata as Schema).name, c]))('%s is a valid apiextensions.k8s.io/v1 CustomResourceDefinition', (_name, crd) => {
    expect(() => new CustomResourceDefinition(crd as never).validate()).not.toThrow();
  });

  it.each(crds.map((c) => [(c.metadata as Schema).name, c]))('%s has a structural schema', (_name, crd) => {
    for (const [path, node] of nodes(openApi(crd as Schema))) {
      const free = node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
      if (!free) expect(node.type, `type at ${path || '(root)'}`).toEqual(expect.any(String));
      for (const forbidden of ['const', '$ref', 'patternProperties', 'definitions', 'oneOf', 'anyOf', 'allOf', 'not']) {
        expect(node, `${forbidden} at ${path}`).not.toHaveProperty(forbidden);
      }
      expect(node.additionalProperties !== undefined && node.properties !== undefined, `properties and additionalProperties at ${path}`).toBe(false);
      expect(node.additionalProperties, `additionalProperties: false at ${path}`).not.toBe(false);
      if (node['x-kubernetes-list-type'] === 'map') {
        const items = node.items as Schema;
        expect(items.type).toBe('object');
        const required = (items.required ?? []) as string[];
        for (const key of node['x-kubernetes-list-map-keys'] as string[]) {
          const prop = (items.properties as Record<string, Schema>)[key];
          expect(required.includes(key) || (prop !== undefined && 'default' in prop), `list-map key ${key} at ${path} is required or defaulted`).toBe(true);
        }
      }
      if (node['x-kubernetes-list-type'] === 'set') expect(['string', 'integer', 'number', 'boolean']).toContain((node.items as Schema).type);
      if (Array.isArray(node.required)) {
        for (const name of node.required as string[]) expect(Object.keys((node.properties ?? {}) as object), `required ${name} at ${path}`).toContain(name);
      }
    }
  });

  it.each(crds.map((c) => [(c.metadata as Schema).name, c]))('%s has CEL rules that parse and bounded lists and strings under them', (_name, crd) => {
    for (const [path, node] of nodes(openApi(crd as Schema))) {
      for (const rule of (node['x-kubernetes-validations'] ?? []) as { rule: string; message: string }[]) {
        expect(() => parseCel(rule.rule), `${path}: ${rule.rule}`).not.toThrow();
        expect(rule.message.length).toBeGreaterThan(0);
      }
      // The API server estimates CEL cost from maxItems/maxLength; unbounded lists make rules too expensive.
      if (node.type === 'array') expect(node.maxItems, `maxItems at ${path}`).toEqual(expect.any(Number));
    }
  });

  it('names, short names, the shipway category, the status subresource and printer columns that exist in the schema', () => {
    for (const def of KINDS) {
      const crd = crds.find((c) => (c.metadata as Schema).name === `${def.plural}.shipway.dev`)!;
      const spec = crd.spec as Schema & { names: Schema; versions: Schema[] };
      expect(spec.group).toBe('shipway.dev');
      expect(spec.names).toMatchObject({ kind: def.kind, plural: def.plural, categories: ['shipway'] });
      expect((spec.names.shortNames as string[]).length).toBeGreaterThan(0);
      const version = spec.versions[0]!;
      expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
      const columns = version.additionalPrinterColumns as { name: string; jsonPath: string }[];
      expect(columns.map((c) => c.name)).toContain('Age');
      const schema = openApi(crd);
      for (const column of columns) {
        if (column.jsonPath.startsWith('.metadata.')) continue;
        const segments = column.jsonPath.replace(/\[\?\(.*?\)\]/g, '[]').slice(1).split('.');
        let node: Schema | undefined = schema;
        for (const segment of segments) {
          const name = segment.replace('[]', '');
          node = (node?.properties as Record<string, Schema> | undefined)?.[name];
          if (segment.endsWith('[]')) node = node?.items as Schema | undefined;
        }
        expect(node, `${def.kind} column ${column.name} (${column.jsonPath})`).toBeDefined();
      }
    }
    const all = KINDS.flatMap((k) => k.shortNames);
    expect(new Set(all).size).toBe(all.length);
  });

  it('puts Phase, Environment, Progress and Version columns on Release', () => {
    const release = KINDS.find((k) => k.kind === 'Release')!;
    expect(release.printerColumns.map((c) => c.name)).toEqual(expect.arrayContaining(['Phase', 'Environment', 'Progress', 'Version', 'Age']));
  });
});
