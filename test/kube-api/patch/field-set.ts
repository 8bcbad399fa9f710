/**
 * Sets of field paths, as server-side apply tracks ownership, and their `FieldsV1` form.
 *
 * A path is a list of elements spelled as in `FieldsV1`: `f:<field>` (a field of a map), `k:<json>` (the
 * item of a keyed list, e.g. `k:{"name":"web"}`), `v:<json>` (a member of a set of scalars) and
 * `i:<index>`. In `FieldsV1` the set is a trie: `{}` is a member without children, and `"."` marks a
 * member that also has children (a list item whose fields are owned too).
 */
import { isObject, type JsonObject } from './json-value.ts';

export type FieldPath = readonly string[];

interface Node {
  member: boolean;
  children: Map<string, Node>;
}

const newNode = (): Node => ({ member: false, children: new Map() });

/** A well-formed path element; anything else in stored or sent `fieldsV1` is ignored. */
function isElement(key: string): boolean {
  const body = key.slice(2);
  switch (key.slice(0, 2)) {
    case 'f:':
      return true;
    case 'i:':
      return /^\d+$/.test(body);
    case 'k:':
    case 'v:':
      try {
        const value = JSON.parse(body) as unknown;
        return key.startsWith('v:') || isObject(value);
      } catch {
        return false;
      }
    default:
      return false;
  }
}

export class FieldSet {
  private readonly root: Node = newNode();

  static of(paths: Iterable<FieldPath>): FieldSet {
    const set = new FieldSet();
    for (const path of paths) set.insert(path);
    return set;
  }

  /** Reads a `fieldsV1` trie; anything that is not one reads as the empty set. */
  static fromFieldsV1(trie: unknown): FieldSet {
    const set = new FieldSet();
    const read = (value: unknown, path: string[]) => {
      if (!isObject(value)) return;
      const keys = Object.keys(value);
      if (keys.length === 0 || keys.includes('.')) set.insert(path);
      for (const key of keys) if (isElement(key)) read(value[key], [...path, key]);
    };
    if (isObject(trie)) for (const key of Object.keys(trie)) if (isElement(key)) read(trie[key], [key]);
    return set;
  }

  insert(path: FieldPath): this {
    if (path.length === 0) return this;
    let node = this.root;
    for (const element of path) {
      let child = node.children.get(element);
      if (!child) node.children.set(element, (child = newNode()));
      node = child;
    }
    node.member = true;
    return this;
  }

  has(path: FieldPath): boolean {
    return this.find(path)?.member ?? false;
  }

  /** Whether the set holds `path` or any path below it. */
  covers(path: FieldPath): boolean {
    return this.find(path) !== undefined;
  }

  /** Whether the set holds paths below `path` (a list item whose fields are owned, a map with owned keys). */
  hasChildren(path: FieldPath): boolean {
    return (this.find(path)?.children.size ?? 0) > 0;
  }

  remove(path: FieldPath): this {
    const chain: Node[] = [this.root];
    for (const element of path) {
      const child = chain[chain.length - 1]!.children.get(element);
      if (!child) return this;
      chain.push(child);
    }
    chain[chain.length - 1]!.member = false;
    for (let i = path.length; i > 0; i--) {
      const node = chain[i]!;
      if (node.member || node.children.size > 0) break;
      chain[i - 1]!.children.delete(path[i - 1]!);
    }
    return this;
  }

  /** Every member, parents before children, children in `FieldsV1` order. */
  paths(): FieldPath[] {
    const out: FieldPath[] = [];
    const walk = (node: Node, path: string[]) => {
      if (node.member) out.push(path);
      for (const key of [...node.children.keys()].sort()) walk(node.children.get(key)!, [...path, key]);
    };
    walk(this.root, []);
    return out;
  }

  isEmpty(): boolean {
    return this.root.children.size === 0;
  }

  union(other: FieldSet): FieldSet {
    return FieldSet.of([...this.paths(), ...other.paths()]);
  }

  difference(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((path) => !other.has(path)));
  }

  filter(keep: (path: FieldPath) => boolean): FieldSet {
    return FieldSet.of(this.paths().filter(keep));
  }

  toFieldsV1(): JsonObject {
    const write = (node: Node): JsonObject => {
      const out: JsonObject = node.member && node.children.size > 0 ? { '.': {} } : {};
      for (const key of [...node.children.keys()].sort()) out[key] = write(node.children.get(key)!);
      return out;
    };
    return write(this.root);
  }

  private find(path: FieldPath): Node | undefined {
    let node: Node | undefined = this.root;
    for (const element of path) node = node?.children.get(element);
    return node;
  }
}

/** A path as conflict messages print it: `.spec.template.spec.containers[name="web"].image`. */
export function pathString(path: FieldPath): string {
  return path
    .map((element) => {
      const body = element.slice(2);
      switch (element.slice(0, 2)) {
        case 'f:':
          return `.${body}`;
        case 'k:': {
          const key = JSON.parse(body) as JsonObject;
          return `[${Object.keys(key)
            .sort()
            .map((name) => `${name}=${JSON.stringify(key[name])}`)
            .join(',')}]`;
        }
        case 'v:':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}
