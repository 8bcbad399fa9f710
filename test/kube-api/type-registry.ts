/** Resource types by group/version/plural and by kind; CRDs add and remove theirs at run time. */
import { BUILTIN_TYPES, typeFromCrd, type ResourceType } from './resource-types.ts';

export const resourceKey = (t: Pick<ResourceType, 'group' | 'plural'>) => `${t.group}/${t.plural}`;

export class TypeRegistry {
  private readonly types = new Map<string, ResourceType>();
  private readonly listeners = new Set<() => void>();

  constructor() {
    for (const t of BUILTIN_TYPES) this.types.set(resourceKey(t), t);
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  byResource(group: string, plural: string): ResourceType | undefined {
    return this.types.get(`${group}/${plural}`);
  }

  /** The type served at group/version/plural, if that version is served. */
  resolve(group: string, version: string, plural: string): ResourceType | undefined {
    const t = this.types.get(`${group}/${plural}`);
    return t && t.versions.includes(version) ? t : undefined;
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.kind === kind);
  }

  /** Registers (or re-registers) the type a CRD defines; refuses to shadow a built-in. */
  putCrd(crd: Record<string, any>): ResourceType {
    const type = typeFromCrd(crd);
    const existing = this.types.get(resourceKey(type));
    if (existing && !existing.crd) throw new Error(`${resourceKey(type)} is a built-in resource`);
    this.types.set(resourceKey(type), type);
    this.changed();
    return type;
  }

  removeCrd(crd: Record<string, any>): void {
    const key = `${crd.spec.group}/${crd.spec.names.plural}`;
    if (this.types.get(key)?.crd) {
      this.types.delete(key);
      this.changed();
    }
  }

  /** Called whenever the set of types changes (discovery and OpenAPI caches listen). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }
}
