/**
 * `make crds`: writes crds/*.yaml, the Helm chart's copies (charts/shipway/crds/, which Helm installs before
 * anything else) and docs/api-reference.md from the TypeScript schemas; stale CRD files of removed kinds are
 * deleted from both directories.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { renderCrdFiles } from '../operator/src/api/crd.ts';
import { KINDS } from '../operator/src/api/kinds.ts';
import { renderApiReference } from '../operator/src/api/reference-doc.ts';

const directories = ['../crds/', '../charts/shipway/crds/'].map((path) => fileURLToPath(new URL(path, import.meta.url)));
const files = renderCrdFiles(KINDS, (value) => stringify(value, { lineWidth: 0 }));
for (const dir of directories) {
  for (const existing of await readdir(dir)) {
    if (existing.endsWith('.yaml') && !files.has(existing)) await rm(dir + existing);
  }
  for (const [name, text] of files) await writeFile(dir + name, text);
}
await writeFile(new URL('../docs/api-reference.md', import.meta.url), renderApiReference(KINDS));
console.log(`wrote ${files.size} CRDs to crds/ and charts/shipway/crds/, and docs/api-reference.md`);
