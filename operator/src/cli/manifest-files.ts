/** Finds manifest files and reads their YAML documents, keeping positions so issues point at lines. */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

export class PathNotFoundError extends Error {}

/** Files named on the command line, and manifest files found under directories, in a stable order. */
export async function collectManifestFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new PathNotFoundError(`${path}: no such file or directory`);
    if (info.isDirectory()) files.push(...(await walk(path)));
    else files.push(path);
  }
  return files;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (MANIFEST_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) files.push(full);
  }
  return files;
}

export interface ManifestDocument {
  /** 1-based position of the document in its file. */
  index: number;
  value: unknown;
  /** Line (1-based) of the node at a field path, or of its nearest existing ancestor. */
  lineOf(segments: readonly (string | number)[]): number;
}

export interface ParsedFile {
  documents: ManifestDocument[];
  syntaxErrors: { line: number; message: string }[];
}

export async function readManifestFile(file: string): Promise<ParsedFile> {
  return parseManifests(await readFile(file, 'utf8'));
}

export function parseManifests(text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const syntaxErrors: ParsedFile['syntaxErrors'] = [];
  const documents: ManifestDocument[] = [];
  list.forEach((doc, i) => {
    for (const error of doc.errors) {
      syntaxErrors.push({ line: lineCounter.linePos(error.pos[0]).line, message: error.message.split('\n')[0] ?? error.message });
    }
    // An empty document (a trailing `---`, common in generated YAML) holds nothing, as kubectl sees it.
    if (doc.errors.length > 0 || doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return;
    documents.push({
      index: i + 1,
      value: doc.toJS({ maxAliasCount: 100 }),
      lineOf: (segments) => lineCounter.linePos(offsetOf(doc, segments)).line,
    });
  });
  return { documents, syntaxErrors };
}

function offsetOf(doc: Document, segments: readonly (string | number)[]): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === segment);
      if (!pair) break;
      // Point at the key: for an unknown or invalid field that is the line a reader looks for.
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}
