/** Schema, CEL rules and semantic checks of one object, in one call. */
import { SchemaValidator } from './schema-validator.ts';
import type { ValidationIssue } from './issue.ts';
import { semanticIssues } from './semantic.ts';

export interface ManifestResult {
  /** Not a shipway.dev object: nothing to validate. */
  foreign: boolean;
  kind?: string;
  name?: string;
  issues: ValidationIssue[];
  /** The object with defaults applied, when it passed the schema. */
  object?: Record<string, unknown>;
}

export class ManifestValidator {
  private readonly schemas = new SchemaValidator();

  validate(input: unknown): ManifestResult {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) {
      return { foreign: false, issues: [{ path: '', message: 'a manifest must be an object', source: 'schema' }] };
    }
    const object = input as Record<string, unknown>;
    const meta = object.metadata as Record<string, unknown> | undefined;
    const name = typeof meta?.name === 'string' ? meta.name : typeof meta?.generateName === 'string' ? `${meta.generateName}*` : undefined;
    const id = SchemaValidator.identify(object);
    if (id.foreign) return { foreign: true, issues: [] };
    if (!id.kind) return { foreign: false, name, kind: String(object.kind), issues: id.issue ? [id.issue] : [] };
    const result = this.schemas.validate(id.kind, object);
    if (result.issues.length > 0) {
      // Semantic checks assume a well-formed spec; they would only repeat or confuse schema errors.
      return { foreign: false, kind: id.kind.kind, name, issues: result.issues };
    }
    const issues = semanticIssues(id.kind.kind, result.object.spec);
    return { foreign: false, kind: id.kind.kind, name, issues, ...(issues.length === 0 ? { object: result.object } : {}) };
  }
}
