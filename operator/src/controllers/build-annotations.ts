/**
 * What the build webhook needs from the cluster: the ReleaseApps of an app whose Release is still active (from
 * the informers' caches, which every replica keeps), and writing the new-tag annotations on one of them.
 */
import { isTerminal } from '../planning/release-machine.ts';
import { TransientError } from '../runtime/errors.ts';
import type { Informer, KubeObject } from '../runtime/informer.ts';
import type { NotifiedApp } from '../server/build-notify.ts';
import type { CustomResources } from './custom-resources.ts';

type AppObject = KubeObject & { spec?: { app?: string; release?: string } };

export function activeReleaseApps(apps: Informer, releases: Informer, app: string): NotifiedApp[] {
  const found: NotifiedApp[] = [];
  for (const object of apps.list() as AppObject[]) {
    const { namespace, name, annotations } = object.metadata ?? {};
    const release = object.spec?.release;
    if (object.spec?.app !== app || !namespace || !name || !release || object.metadata?.deletionTimestamp) continue;
    const parent = releases.get(namespace, release) as (KubeObject & { status?: { phase?: string } }) | undefined;
    if (!parent || isTerminal(parent.status?.phase)) continue;
    found.push({ namespace, name, release, annotations: { ...(annotations ?? {}) } });
  }
  return found.sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

/** A merge patch of the annotations, on the object as read now (a conflict with another writer is retried). */
export async function annotateReleaseApp(objects: CustomResources, app: NotifiedApp, annotations: Record<string, string>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await objects.get(app.namespace, app.name);
    if (!current) throw new Error(`ReleaseApp ${app.namespace}/${app.name} no longer exists`);
    try {
      await objects.patchMetadata(current, { annotations });
      return;
    } catch (error) {
      if (!(error instanceof TransientError) || attempt >= 3) throw error;
    }
  }
}
