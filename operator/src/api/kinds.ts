/** The four kinds of shipway.dev/v1alpha1: names, schemas and printer columns, the one source of truth. */
import type { TSchema } from '@sinclair/typebox';
import { API_GROUP, API_VERSION } from './common.ts';
import { PipelineSpec, PipelineStatus } from './pipeline.ts';
import { ReleaseAppSpec, ReleaseAppStatus } from './release-app.ts';
import { ReleaseSpec, ReleaseStatus } from './release.ts';
import { TargetSpec, TargetStatus } from './target.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface KindDefinition {
  kind: 'Target' | 'Pipeline' | 'Release' | 'ReleaseApp';
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: TSchema;
  status: TSchema;
  printerColumns: PrinterColumn[];
}

export const CATEGORY = 'shipway';

const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const ready: PrinterColumn = { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' };

export const KINDS: readonly KindDefinition[] = [
  {
    kind: 'Target',
    plural: 'targets',
    singular: 'target',
    shortNames: ['tgt'],
    description: 'Where something is deployed: a Kubernetes workload, or a host served by an agent (docker, script, gitpull).',
    spec: TargetSpec,
    status: TargetStatus,
    printerColumns: [
      { name: 'Type', type: 'string', jsonPath: '.spec.type' },
      { name: 'Environment', type: 'string', jsonPath: '.spec.environment' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Agent', type: 'string', jsonPath: '.spec.agent', priority: 1 },
      { name: 'Last Seen', type: 'date', jsonPath: '.status.lastSeenAt', priority: 1 },
      age,
    ],
  },
  {
    kind: 'Pipeline',
    plural: 'pipelines',
    singular: 'pipeline',
    shortNames: ['pipe'],
    description: 'Reusable stages of tasks run per target in the pre_release, release and post_release phases.',
    spec: PipelineSpec,
    status: PipelineStatus,
    printerColumns: [ready, { name: 'Tasks', type: 'integer', jsonPath: '.status.taskCount' }, age],
  },
  {
    kind: 'Release',
    plural: 'releases',
    singular: 'release',
    shortNames: ['rel'],
    description: 'One release batch, moved through an ordered list of environments.',
    spec: ReleaseSpec,
    status: ReleaseStatus,
    printerColumns: [
      { name: 'Project', type: 'string', jsonPath: '.spec.project' },
      { name: 'Version', type: 'string', jsonPath: '.spec.version' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Environment', type: 'string', jsonPath: '.status.currentEnvironment' },
      { name: 'Progress', type: 'string', jsonPath: '.status.progress' },
      { name: 'Message', type: 'string', jsonPath: '.status.message', priority: 1 },
      age,
    ],
  },
  {
    kind: 'ReleaseApp',
    plural: 'releaseapps',
    singular: 'releaseapp',
    shortNames: ['rapp'],
    description: 'One application inside a Release, with its own version.',
    spec: ReleaseAppSpec,
    status: ReleaseAppStatus,
    printerColumns: [
      { name: 'Release', type: 'string', jsonPath: '.spec.release' },
      { name: 'App', type: 'string', jsonPath: '.spec.app' },
      { name: 'Version', type: 'string', jsonPath: '.spec.version' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'New Tag', type: 'string', jsonPath: '.status.newTag.tag' },
      age,
    ],
  },
];

export type KindName = KindDefinition['kind'];

export function findKind(apiVersion: unknown, kind: unknown): KindDefinition | undefined {
  if (apiVersion !== `${API_GROUP}/${API_VERSION}`) return undefined;
  return KINDS.find((k) => k.kind === kind);
}
