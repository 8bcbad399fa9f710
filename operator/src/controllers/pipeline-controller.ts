/** Pipelines have no work of their own: their status says whether they are valid and how many tasks they hold. */
import { setCondition } from '../api/conditions.ts';
import type { PipelineSpec, PipelineStatus } from '../api/pipeline.ts';
import { ManifestValidator } from '../validation/manifest-validator.ts';
import type { CustomResources } from './custom-resources.ts';

export class PipelineController {
  private readonly validator = new ManifestValidator();

  constructor(private readonly pipelines: CustomResources, private readonly now: () => Date = () => new Date()) {}

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const pipeline = await this.pipelines.get(namespace, name);
    if (!pipeline || pipeline.metadata.deletionTimestamp) return;
    const spec = pipeline.spec as PipelineSpec;
    const status: PipelineStatus = pipeline.status ?? {};
    const issues = this.validator.validate(pipeline).issues;
    const generation = pipeline.metadata.generation;
    const next: PipelineStatus = {
      ...status,
      observedGeneration: generation,
      taskCount: spec.stages.reduce((n, s) => n + s.tasks.length, 0),
      conditions: setCondition(
        status.conditions,
        issues.length > 0
          ? { type: 'Ready', status: 'False', reason: 'InvalidSpec', message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), observedGeneration: generation }
          : { type: 'Ready', status: 'True', reason: 'Valid', message: `${spec.stages.length} stage(s)`, observedGeneration: generation },
        this.now(),
      ),
    };
    if (JSON.stringify(next) !== JSON.stringify(status)) await this.pipelines.patchStatus(pipeline, next);
  }
}
