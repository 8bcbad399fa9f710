/**
 * Blue-green for Deployments: the new version runs in full next to the live one, then the Target's Service
 * selector moves to it in one write. Colours and where they are recorded: blue-green-colors.ts.
 *
 * 1. `deployGreen` — pins the Service to the live colour if it does not name one yet, then records the
 *    preview colour on the Service and creates or updates that colour's Deployment with the new images and
 *    the live one's replicas. Pinning first matters: until the selector names a colour it selects every pod
 *    of the app, and the new pods would take traffic before the switch. Pinning a workload whose pods carry
 *    no colour yet adds the label to its pod template, which rolls its pods once (same images); the
 *    selector moves only after that rollout is done, so no pod drops out of the Service meanwhile.
 * 2. `switchService` — the Service selector gets the preview colour (the preview must be rolled out).
 * 3. `finishBlueGreen` — the old colour is scaled to 0 (`keepOldVersion`, for a fast way back) or deleted;
 *    the Target's own workload `<name>` is never deleted, only scaled to 0, as other tools (GitOps) may own it.
 *    `abortBlueGreen` — the selector returns to the old colour and the preview is removed the same way.
 * Every step reads the Service first and does nothing when it finds its work done, so repeating any step
 * (an operator restart) is safe.
 */
import { imageChanges, rolloutState, sameJson, variantDeployment, WorkloadError } from '../planning/workload-rollout.ts';
import type { ImageChange, TargetRef } from '../tasks/task-executor.ts';
import { colorWorkloadName, COLOR_LABEL, isPinned, liveColor, otherColor, previewColor, PREVIEW_ANNOTATION, type Color } from './blue-green-colors.ts';
import { WorkloadNotFoundError } from './api-errors.ts';
import { waitForRollout } from './rollout-operations.ts';
import type { FollowOptions } from './rollout-wait.ts';
import type { TargetWorkload } from './target-workload.ts';
import type { KubeObject } from './workload-client.ts';

export interface GreenDeployment {
  color: Color;
  /** The preview Deployment's name. */
  name: string;
  /** The Target pointed at the preview Deployment: for `waitForRollout` and `observe`. */
  target: TargetRef;
  /** Whether this call had to pin the Service to the live colour first. */
  pinned: boolean;
}

export interface BlueGreenStep {
  /** The colour the Service routes to afterwards. */
  live: Color;
  changed: boolean;
}

/** The Target redirected to one colour's Deployment, without its Service so no colour is followed. */
export function colorTarget(target: TargetRef, color: Color): TargetRef {
  const spec = target.spec.kubernetes!;
  const { service: _service, ...rest } = spec;
  return { ...target, spec: { ...target.spec, kubernetes: { ...rest, name: colorWorkloadName(spec.name, color) } } };
}

function requireService(w: TargetWorkload): string {
  if (w.kind !== 'Deployment') throw new WorkloadError(`blue-green needs a Deployment; Target ${w.target.namespace}/${w.target.name} has a ${w.kind}`);
  if (!w.service) throw new WorkloadError(`Target ${w.target.namespace}/${w.target.name} has no spec.kubernetes.service: blue-green switches a Service's selector`);
  return w.service;
}

async function readService(w: TargetWorkload, name: string): Promise<KubeObject> {
  const service = await w.client.findService(w.namespace, name);
  if (!service) throw new WorkloadError(`Service ${w.namespace}/${name} (spec.kubernetes.service of Target ${w.target.name}) not found`);
  return service;
}

const annotate = (w: TargetWorkload, service: string, value: Color | null) =>
  w.client.patchService(w.namespace, service, { strategy: 'merge', body: { metadata: { annotations: { [PREVIEW_ANNOTATION]: value } } } });

const select = (w: TargetWorkload, service: string, color: Color) =>
  w.client.patchService(w.namespace, service, { strategy: 'strategic', body: { spec: { selector: { [COLOR_LABEL]: color } } } });

/** Retires a colour's Deployment: scaled to 0, or deleted unless it is the Target's own workload. */
async function retire(w: TargetWorkload, color: Color, keep: boolean): Promise<void> {
  const name = colorWorkloadName(w.baseName, color);
  if (!keep && color !== 'blue') {
    await w.client.deleteDeployment(w.namespace, name);
    return;
  }
  const workload = await w.client.find('Deployment', w.namespace, name);
  if (workload && workload.spec?.replicas !== 0) await w.client.patch('Deployment', w.namespace, name, { strategy: 'merge', body: { spec: { replicas: 0 } } });
}

export async function deployGreen(w: TargetWorkload, images: readonly ImageChange[], options: FollowOptions): Promise<GreenDeployment> {
  const serviceName = requireService(w);
  const service = await readService(w, serviceName);
  const live = liveColor(service);
  const preview = previewColor(service);
  if (preview === live) throw new WorkloadError(`the Service ${w.namespace}/${serviceName} already routes to the ${live} preview; finish or abort that blue-green release first`);
  const color = otherColor(live);
  const liveName = colorWorkloadName(w.baseName, live);
  const liveTarget = { ...w, name: liveName };
  const current = await w.client.read('Deployment', w.namespace, liveName);

  let pinned = false;
  if (!isPinned(service)) {
    if (current.spec?.template?.metadata?.labels?.[COLOR_LABEL] !== live) {
      await w.client.patch('Deployment', w.namespace, liveName, { strategy: 'strategic', body: { spec: { template: { metadata: { labels: { [COLOR_LABEL]: live } } } } } });
    }
    const state = await waitForRollout(liveTarget, options);
    if (state.state !== 'done') throw new WorkloadError(`labelling the pods of Deployment ${w.namespace}/${liveName} with ${COLOR_LABEL}=${live} did not roll out: ${state.message}`);
    await select(w, serviceName, live);
    pinned = true;
  }
  if (preview !== color) await annotate(w, serviceName, color);

  const name = colorWorkloadName(w.baseName, color);
  const liveNow = pinned ? await w.client.read('Deployment', w.namespace, liveName) : current;
  const wanted = imageChanges(liveNow, images, w.container);
  const existing = await w.client.find('Deployment', w.namespace, name);
  const replicas = Number(liveNow.spec?.replicas ?? 1);
  const desired = variantDeployment(liveNow, { name, labels: { [COLOR_LABEL]: color }, replicas, images: wanted });
  if (!existing) {
    await w.client.createDeployment(desired);
  } else if (existing.spec?.replicas !== replicas || !sameJson(existing.spec?.template, desired.spec.template)) {
    const template = desired.spec.template;
    // The whole template, not only the images: the preview must be the live workload with new images, even if
    // the idle colour was left behind several releases ago.
    await w.client.patch('Deployment', w.namespace, name, {
      strategy: 'json',
      body: [
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/spec/replicas', value: replicas },
      ],
    });
  }
  return { color, name, target: colorTarget(w.target, color), pinned };
}

export async function switchService(w: TargetWorkload): Promise<BlueGreenStep> {
  const serviceName = requireService(w);
  const service = await readService(w, serviceName);
  const preview = previewColor(service);
  if (!preview) throw new WorkloadError(`no blue-green release is in progress on Service ${w.namespace}/${serviceName}: deploy the new colour first`);
  if (isPinned(service) && liveColor(service) === preview) return { live: preview, changed: false };
  const name = colorWorkloadName(w.baseName, preview);
  const workload = await w.client.find('Deployment', w.namespace, name);
  if (!workload) throw new WorkloadNotFoundError('Deployment', w.namespace, name);
  const state = rolloutState(workload);
  if (state.state !== 'done') throw new WorkloadError(`not switching Service ${w.namespace}/${serviceName} to ${preview}: ${state.message}`);
  await select(w, serviceName, preview);
  return { live: preview, changed: true };
}

export async function finishBlueGreen(w: TargetWorkload, keepOldVersion: boolean): Promise<BlueGreenStep> {
  const serviceName = requireService(w);
  const service = await readService(w, serviceName);
  const preview = previewColor(service);
  const live = liveColor(service);
  if (!preview) return { live, changed: false };
  if (preview !== live) throw new WorkloadError(`Service ${w.namespace}/${serviceName} still routes to ${live}: switch it to ${preview} before finishing`);
  await retire(w, otherColor(live), keepOldVersion);
  await annotate(w, serviceName, null);
  return { live, changed: true };
}

export async function abortBlueGreen(w: TargetWorkload): Promise<BlueGreenStep> {
  const serviceName = requireService(w);
  const service = await readService(w, serviceName);
  const preview = previewColor(service);
  if (!preview) return { live: liveColor(service), changed: false };
  const old = otherColor(preview);
  if (liveColor(service) === preview) await select(w, serviceName, old);
  await retire(w, preview, false);
  await annotate(w, serviceName, null);
  return { live: old, changed: true };
}
