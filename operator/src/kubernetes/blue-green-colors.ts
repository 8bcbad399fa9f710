/**
 * The blue-green colour scheme (see blue-green.ts for the steps).
 *
 * Two Deployments take turns: blue is the Target's own workload `<name>`, green is `<name>-green`. Their
 * pods carry `shipway.dev/color: blue|green`, and the Target's Service selects one colour with that label:
 * the Service selector is the single record of which colour is live (no colour in it yet means blue, the
 * workload as it was before its first blue-green release). While a new version is being prepared the
 * Service also carries the annotation `shipway.dev/preview-color`, naming the colour being deployed; finish
 * and abort remove it. A release deploys to whichever colour is not live, so colours alternate.
 */
import type { KubeObject } from './workload-client.ts';

export type Color = 'blue' | 'green';

export const COLOR_LABEL = 'shipway.dev/color';
export const PREVIEW_ANNOTATION = 'shipway.dev/preview-color';

export const otherColor = (color: Color): Color => (color === 'blue' ? 'green' : 'blue');

/** The Deployment of a colour: blue is the Target's own workload. */
export const colorWorkloadName = (name: string, color: Color): string => (color === 'blue' ? name : `${name}-green`);

const asColor = (value: unknown): Color | undefined => (value === 'blue' || value === 'green' ? value : undefined);

/** The colour the Service routes to; blue while its selector has no colour. */
export const liveColor = (service: KubeObject | undefined): Color => asColor(service?.spec?.selector?.[COLOR_LABEL]) ?? 'blue';

/** Whether the Service selector already names a colour (otherwise it still selects every pod of the app). */
export const isPinned = (service: KubeObject): boolean => asColor(service.spec?.selector?.[COLOR_LABEL]) !== undefined;

/** The colour a blue-green deployment in progress prepares, if one is. */
export const previewColor = (service: KubeObject | undefined): Color | undefined => asColor(service?.metadata?.annotations?.[PREVIEW_ANNOTATION]);
